"""Run by tests/test_distributed.py on every rank (``mpiexec -n N python collectives.py``).

Every collective of ember.distributed, for every dtype it supports, against a NumPy reference:
each rank's contribution is a deterministic function of (check, rank), so every rank computes
the expected result from what all ranks contributed. Rank 0 prints ``ok <count> checks``; a
failed check raises, and the excepthook init_process_group installs aborts the job.
"""
from __future__ import annotations

import datetime
import warnings
import zlib

import numpy as np

import ember as torch
import ember.distributed as dist

DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.float32, torch.float64]
FLOATS = {torch.float16, torch.float32, torch.float64}
OPS = [dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN,
       dist.ReduceOp.PRODUCT]
INT_NAMES = {torch.bool: "Bool", torch.uint8: "Byte", torch.int8: "Char", torch.int16: "Short",
             torch.int32: "Int", torch.int64: "Long"}

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
RANK, N = dist.get_rank(), dist.get_world_size()
checks = 0


def np_dtype(dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


def contribution(name: str, rank: int, dtype, shape) -> np.ndarray:
    """What ``rank`` contributes to check ``name``: small values, so products don't overflow."""
    rng = np.random.default_rng(zlib.crc32(f"{name}/{rank}/{dtype}".encode()))
    if dtype == torch.bool:
        return rng.random(shape) < 0.5
    if dtype == torch.uint8:
        return rng.integers(0, 4, shape).astype(np.uint8)
    if dtype in FLOATS:
        return rng.standard_normal(shape).astype(np_dtype(dtype))
    return rng.integers(-3, 4, shape).astype(np_dtype(dtype))


def reduce_ref(arrays: list[np.ndarray], op) -> np.ndarray:
    """PyTorch's reduction of the ranks' arrays (bool: SUM/MAX = or, MIN/PRODUCT = and;
    float16 accumulated in float32 and rounded once)."""
    stack = np.stack(arrays)
    dt = stack.dtype
    if dt == np.bool_:
        return stack.any(0) if op in (dist.ReduceOp.SUM, dist.ReduceOp.MAX) else stack.all(0)
    acc = stack.astype(np.float32) if dt == np.float16 else stack
    out = {dist.ReduceOp.SUM: lambda: acc.sum(0, dtype=acc.dtype),
           dist.ReduceOp.AVG: lambda: acc.sum(0) / len(arrays),
           dist.ReduceOp.MAX: lambda: acc.max(0), dist.ReduceOp.MIN: lambda: acc.min(0),
           dist.ReduceOp.PRODUCT: lambda: acc.prod(0, dtype=acc.dtype)}[op]()
    return np.asarray(out).astype(dt)


def expect(name: str, got, want: np.ndarray) -> None:
    global checks
    g = got.numpy() if isinstance(got, torch.Tensor) else got
    assert g.dtype == want.dtype and g.shape == want.shape, (
        f"{name}: got {g.dtype}{g.shape}, want {want.dtype}{want.shape}")
    tol = {np.float16: 2e-3, np.float32: 1e-5, np.float64: 1e-12}.get(want.dtype.type)
    if tol is None:
        ok = np.array_equal(g, want)
    else:
        ok = np.allclose(g.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)
    assert ok, f"{name} on rank {RANK}: got\n{g}\nwant\n{want}"
    checks += 1


def mine(name: str, dtype, shape, noncontig: bool = False):
    """This rank's contribution as a tensor (a transposed, non-contiguous view if asked)."""
    a = contribution(name, RANK, dtype, shape)
    if noncontig:
        t = torch.tensor(np.ascontiguousarray(a.T)).t()
        assert not t.is_contiguous()
        return t
    return torch.tensor(a)


def everyone(name: str, dtype, shape) -> list[np.ndarray]:
    return [contribution(name, r, dtype, shape) for r in range(N)]


for dtype in DTYPES:
    d = str(dtype)
    # all_reduce: every op, contiguous, non-contiguous and async
    for op in OPS:
        for noncontig in (False, True):
            name = f"all_reduce/{op.name}/{d}/{noncontig}"
            t = mine(name, dtype, (3, 4), noncontig)
            base = t
            if op is dist.ReduceOp.AVG and dtype not in FLOATS:
                try:
                    dist.all_reduce(t, op=op)
                except RuntimeError as e:
                    assert str(e) == ("result type Float can't be cast to the desired output "
                                      f"type {INT_NAMES[dtype]}"), str(e)
                    checks += 1
                    continue
                raise AssertionError(f"{name}: AVG on an integer dtype must raise")
            v = t._version
            dist.all_reduce(t, op=op)
            assert t is base and t._version == v  # in place; no version bump (as torch)
            expect(name, t, reduce_ref(everyone(name, dtype, (3, 4)), op))
        name = f"all_reduce_async/{op.name}/{d}"
        if op is dist.ReduceOp.AVG and dtype not in FLOATS:
            continue
        t = mine(name, dtype, (5,))
        work = dist.all_reduce(t, op=op, async_op=True)
        assert work.wait() is True and work.is_completed()
        expect(name, t, reduce_ref(everyone(name, dtype, (5,)), op))
    # broadcast from the last rank, into a non-contiguous tensor
    name = f"broadcast/{d}"
    t = mine(name, dtype, (2, 3), noncontig=True)
    dist.broadcast(t, src=N - 1)
    expect(name, t, everyone(name, dtype, (2, 3))[N - 1])
    # reduce into rank 1 only
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.MAX):
        name = f"reduce/{op.name}/{d}"
        t = mine(name, dtype, (4,))
        dist.reduce(t, dst=1, op=op)
        want = (reduce_ref(everyone(name, dtype, (4,)), op) if RANK == 1
                else contribution(name, RANK, dtype, (4,)))
        expect(name, t, want)
    # all_gather, all_gather_into_tensor (concatenated and stacked)
    name = f"all_gather/{d}"
    t = mine(name, dtype, (2, 3), noncontig=True)
    outs = [torch.zeros(2, 3, dtype=dtype) for _ in range(N)]
    dist.all_gather(outs, t)
    for r, (o, w) in enumerate(zip(outs, everyone(name, dtype, (2, 3)))):
        expect(f"{name}[{r}]", o, w)
    name = f"all_gather_into_tensor/{d}"
    t = mine(name, dtype, (2, 3))
    cat, stack = torch.zeros(2 * N, 3, dtype=dtype), torch.zeros(N, 2, 3, dtype=dtype)
    dist.all_gather_into_tensor(cat, t)
    work = dist.all_gather_into_tensor(stack, t, async_op=True)
    work.wait()
    expect(name, cat, np.concatenate(everyone(name, dtype, (2, 3))))
    expect(name + "/stacked", stack, np.stack(everyone(name, dtype, (2, 3))))
    # reduce_scatter and reduce_scatter_tensor
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.MIN) + ((dist.ReduceOp.AVG,) if dtype in FLOATS
                                                         else ()):
        name = f"reduce_scatter/{op.name}/{d}"
        full = [contribution(name, r, dtype, (N, 3)) for r in range(N)]
        out = torch.zeros(3, dtype=dtype)
        dist.reduce_scatter(out, [torch.tensor(row) for row in full[RANK]], op=op)
        expect(name, out, reduce_ref([f[RANK] for f in full], op))
        name = f"reduce_scatter_tensor/{op.name}/{d}"
        full = [contribution(name, r, dtype, (2 * N, 3)) for r in range(N)]
        out = torch.zeros(2, 3, dtype=dtype)
        dist.reduce_scatter_tensor(out, torch.tensor(full[RANK]), op=op)
        expect(name, out, reduce_ref([f[2 * RANK: 2 * RANK + 2] for f in full], op))
    # gather into rank 0, scatter from rank 1
    name = f"gather/{d}"
    t = mine(name, dtype, (3,))
    outs = [torch.zeros(3, dtype=dtype) for _ in range(N)] if RANK == 0 else None
    dist.gather(t, outs, dst=0)
    if RANK == 0:
        for r, (o, w) in enumerate(zip(outs, everyone(name, dtype, (3,)))):
            expect(f"{name}[{r}]", o, w)
    name = f"scatter/{d}"
    pieces = contribution(name, 1, dtype, (N, 2, 2))
    t = torch.zeros(2, 2, dtype=dtype)
    dist.scatter(t, [torch.tensor(p) for p in pieces] if RANK == 1 else None, src=1)
    expect(name, t, pieces[RANK])
    # all_to_all with uneven sizes: rank i sends i + j + 1 elements to rank j
    name = f"all_to_all/{d}"
    sent = {(i, j): contribution(f"{name}/{i}->{j}", i, dtype, (i + j + 1,))
            for i in range(N) for j in range(N)}
    outs = [torch.zeros(j + RANK + 1, dtype=dtype) for j in range(N)]
    dist.all_to_all(outs, [torch.tensor(sent[RANK, j]) for j in range(N)])
    for j, o in enumerate(outs):
        expect(f"{name}[{j}]", o, sent[j, RANK])
    name = f"all_to_all_single/{d}"
    full = [contribution(name, r, dtype, (N * 2, 3)) for r in range(N)]
    out = torch.zeros(N * 2, 3, dtype=dtype)
    dist.all_to_all_single(out, torch.tensor(full[RANK]))
    expect(name, out, np.concatenate([f[2 * RANK: 2 * RANK + 2] for f in full]))
    # point to point around a ring
    name = f"send_recv/{d}"
    nxt, prv = (RANK + 1) % N, (RANK - 1) % N
    t = torch.zeros(2, 3, dtype=dtype).t()
    if RANK % 2 == 0:
        dist.send(torch.tensor(contribution(name, RANK, dtype, (3, 2))), nxt)
        assert dist.recv(t, src=prv) == prv
    else:
        assert dist.recv(t, src=prv) == prv
        dist.send(torch.tensor(contribution(name, RANK, dtype, (3, 2))), nxt)
    expect(name, t, contribution(name, prv, dtype, (3, 2)))
    name = f"isend_irecv/{d}"
    t = torch.zeros(4, dtype=dtype)
    recv_work = dist.irecv(t)  # from any rank
    send_work = dist.isend(torch.tensor(contribution(name, RANK, dtype, (4,))), nxt)
    send_work.wait()
    recv_work.wait()
    assert recv_work.source_rank() == prv
    expect(name, t, contribution(name, prv, dtype, (4,)))

# errors with PyTorch's messages
try:
    dist.all_reduce(torch.ones(2), op=dist.ReduceOp.BAND)
    raise AssertionError("BAND on floats must raise")
except RuntimeError as e:
    assert str(e) == "Cannot use ReduceOp.BAND with non-integral dtype", str(e)
t = torch.tensor([5, 6, 3], dtype=torch.int32) * (RANK + 1)
dist.all_reduce(t, op=dist.ReduceOp.BXOR)
expect("all_reduce/BXOR", t, np.bitwise_xor.reduce(
    [np.array([5, 6, 3], np.int32) * (r + 1) for r in range(N)]))

def raises(exc: type, match: str, fn, *args, **kwargs) -> None:
    global checks
    try:
        fn(*args, **kwargs)
    except exc as e:
        assert match in str(e), f"{fn.__name__}: {e}"
        checks += 1
        return
    raise AssertionError(f"{fn.__name__}{args} must raise {exc.__name__}")


raises(ValueError, "Invalid destination rank", dist.send, torch.ones(1), RANK)
raises(RuntimeError, "has 1 tensors but the group has", dist.all_gather, [torch.ones(1)],
       torch.ones(1))
raises(RuntimeError, "world size", dist.all_gather_into_tensor, torch.ones(N + 1), torch.ones(1))
raises(RuntimeError, "Please clone() the tensor first", dist.all_reduce,
       torch.ones(1, 3).expand(2, 3))
raises(ValueError, "src 7 is not part of the group", dist.broadcast, torch.ones(1), 7)
raises(TypeError, "datetime.timedelta", dist.new_group, [0], timeout=5)
raises(ValueError, "initialize the default process group twice", dist.init_process_group, "mpi")
work = dist.all_reduce(torch.ones(1), async_op=True)
if not work.is_completed():
    raises(RuntimeError, "Should call wait() before result()", work.result)
work.wait()
assert len(work.result()) == 1

# shapes: 0-d and empty
t = torch.tensor(float(RANK))
dist.all_reduce(t)
expect("all_reduce/0-d", t, np.array(sum(range(N)), np.float32))
t = torch.zeros(0, 3)
dist.all_reduce(t)
expect("all_reduce/empty", t, np.zeros((0, 3), np.float32))

# objects
objs = [None] * N
dist.all_gather_object(objs, {"rank": RANK, "name": "r" * RANK})
assert objs == [{"rank": r, "name": "r" * r} for r in range(N)], objs
lst = [RANK, {"a": RANK}, "x" * RANK] if RANK == N - 1 else [None, None, None]
dist.broadcast_object_list(lst, src=N - 1)
assert lst == [N - 1, {"a": N - 1}, "x" * (N - 1)], lst
got = [None] * N if RANK == 1 else None
dist.gather_object(("from", RANK), got, dst=1)
assert RANK != 1 or got == [("from", r) for r in range(N)], got
out = [None]
dist.scatter_object_list(out, [{"to": r} for r in range(N)] if RANK == 0 else None, src=0)
assert out == [{"to": RANK}], out
checks += 4

# groups: a sub-group of the first and last rank; the others are not members
members = [0, N - 1]
g = dist.new_group(members)
t = torch.tensor([float(RANK + 1)])
if RANK in members:
    assert dist.get_world_size(g) == 2 and dist.get_rank(g) == members.index(RANK)
    dist.all_reduce(t, group=g)
    expect("group/all_reduce", t, np.array([1.0 + N], np.float32))
    t = torch.tensor([float(RANK)])
    dist.broadcast(t, src=N - 1, group=g)  # src is a global rank
    expect("group/broadcast", t, np.array([N - 1.0], np.float32))
else:
    assert g is dist.GroupMember.NON_GROUP_MEMBER
    assert dist.get_rank(g) == -1 and dist.get_world_size(g) == -1
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert dist.all_reduce(t, group=g) is None
    assert "does not belong to the given group" in str(w[0].message)
    expect("group/non-member untouched", t, np.array([RANK + 1.0], np.float32))
dist.barrier()
dist.destroy_process_group(g)
assert dist.get_backend() == "mpi" and dist.is_initialized()
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
dist.init_process_group("mpi")  # again, after a destroy
t = torch.tensor([1])
dist.all_reduce(t)
expect("all_reduce after re-init", t, np.array([N]))
dist.destroy_process_group()
if RANK == 0:
    print(f"ok {checks} checks", flush=True)
