"""Collective and point-to-point operations on ember Tensors, in place, over MPI.

Each op hands the tensor's NumPy array to MPI's buffer interface (no pickling of tensors) and
starts a non-blocking request (``Iallreduce``, ``Ibcast``, ...); ``async_op=True`` returns the
:class:`~ember.distributed.process_group.Work`, otherwise the op waits for it (always under the
group's timeout). A non-contiguous tensor is copied to a contiguous buffer and the result is
copied back on completion. Like PyTorch's collectives, these do not bump the tensor's version
counter.

Dtypes: every ember dtype moves as is. Reductions follow PyTorch: on bool, SUM and MAX are a
logical or, MIN and PRODUCT a logical and; float16 is reduced in float32 and rounded back
(MPI has no half type); AVG (sum / group size) exists for floating dtypes only and raises
PyTorch's error on integers.

With ``EMBER_DISTRIBUTED_DEBUG=DETAIL`` every collective first exchanges (op, shapes, dtype)
between the group's ranks and raises a RuntimeError naming the ranks that disagree.
"""
from __future__ import annotations

import pickle
import time

import numpy as np

from ember._tensor import Tensor
from ember.distributed.process_group import (
    GroupMember,
    ProcessGroup,
    ReduceOp,
    Work,
    _mpi,
    _resolve,
    _seconds,
    _state,
    begin,
    run,
    wait_requests,
)

_DEBUG_DESC_BYTES = 512
_INT_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
              "bool": "Bool"}


_tables: tuple = ()


def _mpi_tables() -> tuple:
    """MPI datatype by NumPy dtype, MPI op by ReduceOp for numbers and for bool (built once)."""
    global _tables
    if not _tables:
        MPI = _mpi()
        types = {np.dtype(n): t for n, t in (
            ("bool", MPI.C_BOOL), ("uint8", MPI.UINT8_T), ("int8", MPI.INT8_T),
            ("int16", MPI.INT16_T), ("int32", MPI.INT32_T), ("int64", MPI.INT64_T),
            ("float16", MPI.UINT16_T),  # moved as 2-byte words; reductions go through float32
            ("float32", MPI.FLOAT), ("float64", MPI.DOUBLE))}
        numbers = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                   ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
                   ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
        logical = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                   ReduceOp.MIN: MPI.LAND, ReduceOp.PRODUCT: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                   ReduceOp.BXOR: MPI.LXOR}
        _tables = (types, numbers, logical)
    return _tables


def _mpi_type(dtype: np.dtype):
    return _mpi_tables()[0][dtype]


def _spec(a: np.ndarray) -> list:
    return [a, _mpi_type(a.dtype)]


def _array(t, op: str, what: str = "tensor", out: bool = False) -> np.ndarray:
    """``t``'s NumPy array; with ``out``, checked to be one the op may write."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): {what} must be a Tensor, got {type(t).__name__}")
    a = t._data
    if not isinstance(a, np.ndarray):
        raise RuntimeError(
            f"{op}(): the mpi backend handles CPU tensors only, but {what} is on {t.device} "
            "(ember has no NCCL backend yet); move it with .cpu() first"
        )
    if out and (not a.flags.writeable or a.size > 1 and any(
            st == 0 and n > 1 for st, n in zip(a.strides, a.shape))):
        raise RuntimeError(
            f"{op}(): unsupported operation: more than one element of {what} refers to a single "
            "memory location (an expanded tensor). Please clone() the tensor first."
        )
    return a


def _inout(a: np.ndarray, reduce: bool) -> tuple[np.ndarray, object]:
    """A contiguous buffer MPI may write, and the callback that copies it back into ``a``."""
    if reduce and a.dtype == np.float16:
        buf = a.astype(np.float32)
    elif not a.flags.c_contiguous:
        buf = np.ascontiguousarray(a)
    else:
        return a, None

    def write_back() -> None:
        a[...] = buf.reshape(a.shape)

    return buf, write_back


def _source(a: np.ndarray, reduce: bool = False) -> np.ndarray:
    """A contiguous buffer with ``a``'s values (float32 for a float16 reduction)."""
    if reduce and a.dtype == np.float16:
        return a.astype(np.float32)
    return np.ascontiguousarray(a)


def _reduce_op(op, dtype: np.dtype, name: str):
    """The MPI op for ``op`` on ``dtype``, and whether the result is divided (AVG)."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}(): op must be a ReduceOp, got {op!r}")
    _, numbers, logical = _mpi_tables()
    if op is ReduceOp.AVG and dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {_INT_NAMES[dtype.name]}"
        )
    if dtype == np.bool_:
        return logical[op], False
    if dtype.kind == "f" and op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    return numbers[op], op is ReduceOp.AVG


def _dtype_name(a: np.ndarray) -> str:
    from ember._dtype import _FROM_NP

    return str(_FROM_NP[a.dtype])


def _desc(a: np.ndarray) -> str:
    return f"shape={list(a.shape)}, dtype={_dtype_name(a)}"


def _start(g: ProcessGroup, label: str, desc=None) -> int:
    """Count the collective; in debug mode check that every rank runs the same one
    (``desc()`` describes this rank's arguments)."""
    seq = begin(g, label)
    if _state.debug and g.size() > 1:
        _debug_check(g, label, seq, f"{label}({desc() if desc else ''})")
    return seq


def _debug_check(g: ProcessGroup, label: str, seq: int, desc: str) -> None:
    mine = np.zeros(_DEBUG_DESC_BYTES, np.uint8)
    raw = desc.encode()[:_DEBUG_DESC_BYTES]
    mine[: len(raw)] = np.frombuffer(raw, np.uint8)
    every = np.empty((g.size(), _DEBUG_DESC_BYTES), np.uint8)
    start = time.monotonic()
    req = g.comm.Iallgather([mine, _mpi().UINT8_T], [every, _mpi().UINT8_T])
    wait_requests([req], g, label, seq, start + g.timeout, start)
    descs = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in every]
    if len(set(descs)) > 1:
        by_desc: dict[str, list[int]] = {}
        for r, d in enumerate(descs):
            by_desc.setdefault(d, []).append(g.ranks[r])
        parts = "; ".join(f"rank(s) {ranks} run {d}" for d, ranks in by_desc.items())
        raise RuntimeError(
            f"{label} #{seq}: the ranks of the group disagree on the collective "
            f"(EMBER_DISTRIBUTED_DEBUG=DETAIL): {parts}. Every rank must call the same "
            "collectives in the same order with tensors of the same shape and dtype."
        )


def _group_and_root(group, rank: int, label: str, what: str) -> tuple[ProcessGroup | None, int]:
    g = _resolve(group, label)
    return g, (-1 if g is None else g.group_rank(rank, what))


def _divide_and_write(buf: np.ndarray, n: int, avg: bool, write_back):
    """The completion callback of a reduction: AVG's division, then the copy back."""
    if not avg:
        return write_back

    def finish() -> None:
        np.divide(buf, n, out=buf)
        if write_back is not None:
            write_back()

    return finish


# ---- collectives -----------------------------------------------------------------------------
def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group; every rank gets the result in place."""
    g = _resolve(group, "all_reduce")
    if g is None:
        return None
    a = _array(tensor, "all_reduce", out=True)
    mop, avg = _reduce_op(op, a.dtype, "all_reduce")
    _start(g, "all_reduce", lambda: f"{_desc(a)}, op={op.name}")
    buf, write_back = _inout(a, reduce=True)
    req = g.comm.Iallreduce(_mpi().IN_PLACE, _spec(buf), mop)
    return run(g, "all_reduce", [req], _divide_and_write(buf, g.size(), avg, write_back),
               async_op, [tensor])


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy ``tensor`` of global rank ``src`` into ``tensor`` on every rank of the group."""
    g, root = _group_and_root(group, src, "broadcast", "src")
    if g is None:
        return None
    a = _array(tensor, "broadcast", out=True)
    _start(g, "broadcast", lambda: f"{_desc(a)}, src={src}")
    buf, write_back = _inout(a, reduce=False)
    req = g.comm.Ibcast(_spec(buf), root)
    return run(g, "broadcast", [req], write_back if g.rank() != root else None, async_op,
               [tensor])


def reduce(tensor: Tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False):
    """Reduce ``tensor`` across the group into ``tensor`` on global rank ``dst`` only."""
    g, root = _group_and_root(group, dst, "reduce", "dst")
    if g is None:
        return None
    a = _array(tensor, "reduce", out=True)
    mop, avg = _reduce_op(op, a.dtype, "reduce")
    _start(g, "reduce", lambda: f"{_desc(a)}, op={op.name}, dst={dst}")
    MPI = _mpi()
    if g.rank() != root:
        buf = _source(a, reduce=True)
        return run(g, "reduce", [g.comm.Ireduce(_spec(buf), None, mop, root)], None, async_op,
                   [tensor])
    buf, write_back = _inout(a, reduce=True)
    req = g.comm.Ireduce(MPI.IN_PLACE, _spec(buf), mop, root)
    return run(g, "reduce", [req], _divide_and_write(buf, g.size(), avg, write_back), async_op,
               [tensor])


def _check_list(tensors, n: int, like: np.ndarray, label: str, what: str,
                out: bool = False) -> list[np.ndarray]:
    """The arrays of a list argument of ``n`` tensors shaped and typed like ``like``."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{label}(): {what} must be a list of Tensors")
    if len(tensors) != n:
        raise RuntimeError(
            f"{label}(): {what} has {len(tensors)} tensors but the group has {n} ranks"
        )
    arrays = [_array(t, label, what, out) for t in tensors]
    for i, x in enumerate(arrays):
        if x.dtype != like.dtype or x.size != like.size:
            raise RuntimeError(
                f"{label}(): {what}[{i}] is {_desc(x)} but the tensor is {_desc(like)}; every "
                "tensor of the list must have the tensor's dtype and number of elements"
            )
    return arrays


def _scatter_into(arrays: list[np.ndarray], buf: np.ndarray):
    """A callback that copies the rows of ``buf`` (one per rank) into ``arrays``."""

    def finish() -> None:
        rows = buf.reshape(len(arrays), -1)
        for x, row in zip(arrays, rows):
            x[...] = row.reshape(x.shape)

    return finish


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None, async_op: bool = False):
    """Gather every rank's ``tensor`` into ``tensor_list`` (one tensor per rank) on all ranks."""
    g = _resolve(group, "all_gather")
    if g is None:
        return None
    a = _array(tensor, "all_gather")
    outs = _check_list(tensor_list, g.size(), a, "all_gather", "tensor_list", out=True)
    _start(g, "all_gather", lambda: _desc(a))
    recv = np.empty((g.size(), a.size), a.dtype)
    req = g.comm.Iallgather(_spec(_source(a)), _spec(recv))
    return run(g, "all_gather", [req], _scatter_into(outs, recv), async_op, list(tensor_list))


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (concatenated or stacked
    along a new first dim), on all ranks."""
    g = _resolve(group, "all_gather_into_tensor")
    if g is None:
        return None
    out, a = _array(output_tensor, "all_gather_into_tensor", out=True), _array(input_tensor,
                                                                   "all_gather_into_tensor")
    if out.dtype != a.dtype or out.size != a.size * g.size():
        raise RuntimeError(
            f"all_gather_into_tensor(): output tensor ({_desc(out)}) must have the input's "
            f"dtype and world size ({g.size()}) times its number of elements ({_desc(a)})"
        )
    _start(g, "all_gather_into_tensor", lambda: _desc(a))
    buf, write_back = _inout(out, reduce=False)
    req = g.comm.Iallgather(_spec(_source(a)), _spec(buf))
    return run(g, "all_gather_into_tensor", [req], write_back, async_op, [output_tensor])


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` across the group into ``output`` on group rank i."""
    g = _resolve(group, "reduce_scatter")
    if g is None:
        return None
    out = _array(output, "reduce_scatter", "output", out=True)
    ins = _check_list(input_list, g.size(), out, "reduce_scatter", "input_list")
    mop, avg = _reduce_op(op, out.dtype, "reduce_scatter")
    _start(g, "reduce_scatter", lambda: f"{_desc(out)}, op={op.name}")
    send = np.concatenate([_source(x, reduce=True).ravel() for x in ins])
    buf, write_back = _inout(out, reduce=True)
    req = g.comm.Ireduce_scatter_block(_spec(send), _spec(buf), mop)
    return run(g, "reduce_scatter", [req], _divide_and_write(buf, g.size(), avg, write_back),
               async_op, [output])


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group=None, async_op: bool = False):
    """Reduce ``input`` across the group; group rank i gets the i-th chunk in ``output``."""
    g = _resolve(group, "reduce_scatter_tensor")
    if g is None:
        return None
    out, a = _array(output, "reduce_scatter_tensor", out=True), _array(input, "reduce_scatter_tensor")
    if out.dtype != a.dtype or a.size != out.size * g.size():
        raise RuntimeError(
            f"reduce_scatter_tensor(): input tensor ({_desc(a)}) must have the output's dtype "
            f"and world size ({g.size()}) times its number of elements ({_desc(out)})"
        )
    mop, avg = _reduce_op(op, out.dtype, "reduce_scatter_tensor")
    _start(g, "reduce_scatter_tensor", lambda: f"{_desc(a)}, op={op.name}")
    buf, write_back = _inout(out, reduce=True)
    req = g.comm.Ireduce_scatter_block(_spec(_source(a, reduce=True)), _spec(buf), mop)
    return run(g, "reduce_scatter_tensor", [req],
               _divide_and_write(buf, g.size(), avg, write_back), async_op, [output])


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int = 0, group=None,
           async_op: bool = False):
    """Gather every rank's ``tensor`` into ``gather_list`` on global rank ``dst``."""
    g, root = _group_and_root(group, dst, "gather", "dst")
    if g is None:
        return None
    a = _array(tensor, "gather")
    if g.rank() == root:
        outs = _check_list(gather_list, g.size(), a, "gather", "gather_list", out=True)
    elif gather_list:
        raise ValueError("gather(): Argument ``gather_list`` must NOT be specified on non-"
                         "destination ranks.")
    _start(g, "gather", lambda: f"{_desc(a)}, dst={dst}")
    send = _spec(_source(a))
    if g.rank() != root:
        return run(g, "gather", [g.comm.Igather(send, None, root)], None, async_op, [tensor])
    recv = np.empty((g.size(), a.size), a.dtype)
    req = g.comm.Igather(send, _spec(recv), root)
    return run(g, "gather", [req], _scatter_into(outs, recv), async_op, list(gather_list))


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int = 0, group=None,
            async_op: bool = False):
    """Send ``scatter_list[i]`` of global rank ``src`` into ``tensor`` on group rank i."""
    g, root = _group_and_root(group, src, "scatter", "src")
    if g is None:
        return None
    a = _array(tensor, "scatter", out=True)
    send = None
    if g.rank() == root:
        ins = _check_list(scatter_list, g.size(), a, "scatter", "scatter_list")
        send = _spec(np.concatenate([np.ascontiguousarray(x).ravel() for x in ins]))
    elif scatter_list:
        raise ValueError("scatter(): Argument ``scatter_list`` must NOT be specified on non-"
                         "source ranks.")
    _start(g, "scatter", lambda: f"{_desc(a)}, src={src}")
    buf, write_back = _inout(a, reduce=False)
    req = g.comm.Iscatter(send, _spec(buf), root)
    return run(g, "scatter", [req], write_back, async_op, [tensor])


def _alltoallv(g: ProcessGroup, label: str, send: np.ndarray, send_counts, recv: np.ndarray,
               recv_counts, finish, async_op: bool, result):
    sc, rc = np.asarray(send_counts, np.int64), np.asarray(recv_counts, np.int64)
    sd = np.concatenate([[0], np.cumsum(sc)[:-1]]).astype(np.int64)
    rd = np.concatenate([[0], np.cumsum(rc)[:-1]]).astype(np.int64)
    t = _mpi_type(send.dtype)
    req = g.comm.Ialltoallv([send, (sc.tolist(), sd.tolist()), t],
                            [recv, (rc.tolist(), rd.tolist()), t])
    return run(g, label, [req], finish, async_op, result)


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor], group=None,
               async_op: bool = False):
    """Send ``input_tensor_list[i]`` to group rank i, which receives it into its
    ``output_tensor_list[j]`` (j: this rank); the tensors may differ in size."""
    g = _resolve(group, "all_to_all")
    if g is None:
        return None
    n = g.size()
    for what, lst in (("output_tensor_list", output_tensor_list),
                      ("input_tensor_list", input_tensor_list)):
        if not isinstance(lst, (list, tuple)) or len(lst) != n:
            raise RuntimeError(f"all_to_all(): {what} must be a list of {n} tensors (one per rank)")
    outs = [_array(t, "all_to_all", "output_tensor_list", out=True) for t in output_tensor_list]
    ins = [_array(t, "all_to_all", "input_tensor_list") for t in input_tensor_list]
    dtype = ins[0].dtype
    if any(x.dtype != dtype for x in outs + ins):
        raise RuntimeError("all_to_all(): every input and output tensor must have the same dtype")
    _start(g, "all_to_all", lambda: f"dtype={_dtype_name(ins[0])}")
    send = np.concatenate([np.ascontiguousarray(x).ravel() for x in ins])
    recv = np.empty(sum(x.size for x in outs), dtype)

    def finish() -> None:
        at = 0
        for x in outs:
            x[...] = recv[at: at + x.size].reshape(x.shape)
            at += x.size

    return _alltoallv(g, "all_to_all", send, [x.size for x in ins], recv,
                      [x.size for x in outs], finish, async_op, list(output_tensor_list))


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list[int] | None = None,
                      input_split_sizes: list[int] | None = None, group=None,
                      async_op: bool = False):
    """``all_to_all`` on one tensor split along dim 0 (evenly, or by the given sizes)."""
    g = _resolve(group, "all_to_all_single")
    if g is None:
        return None
    n = g.size()
    out, a = _array(output, "all_to_all_single", out=True), _array(input, "all_to_all_single")
    if out.dtype != a.dtype:
        raise RuntimeError("all_to_all_single(): output and input must have the same dtype")

    def counts(x: np.ndarray, splits, what: str) -> list[int]:
        rows = x.shape[0] if x.ndim else 1
        row = x.size // rows if rows else 0
        if splits is None:
            if rows % n:
                raise RuntimeError(f"all_to_all_single(): {what}'s first dim ({rows}) must be "
                                 f"divisible by the group size ({n}) when no split sizes are given")
            return [rows // n * row] * n
        if len(splits) != n or sum(splits) != rows:
            raise RuntimeError(f"all_to_all_single(): {what} split sizes {list(splits)} must be "
                             f"{n} sizes that add up to its first dim ({rows})")
        return [int(s) * row for s in splits]

    sc = counts(a, input_split_sizes, "input")
    rc = counts(out, output_split_sizes, "output")
    _start(g, "all_to_all_single", lambda: f"dtype={_dtype_name(a)}")
    buf, write_back = _inout(out, reduce=False)
    return _alltoallv(g, "all_to_all_single", _source(a), sc, buf, rc, write_back, async_op,
                      [output])


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group has reached the barrier."""
    g = _resolve(group, "barrier")
    if g is None:
        return None
    _start(g, "barrier")
    return run(g, "barrier", [g.comm.Ibarrier()], None, async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """A barrier with its own ``timeout`` (a timedelta; default the group's); a timeout names
    the ranks that did not arrive, as every ember barrier does."""
    g = _resolve(group, "monitored_barrier")
    if g is None:
        return
    work = barrier(g, async_op=True)
    work.wait(None if timeout is None else _seconds(timeout))


# ---- point to point --------------------------------------------------------------------------
def isend(tensor: Tensor, dst: int, group=None, tag: int = 0) -> Work | None:
    """Start sending ``tensor`` to global rank ``dst``; keep it unchanged until ``wait()``."""
    g, peer = _group_and_root(group, dst, "isend", "dst")
    if g is None:
        return None
    if peer == g.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same as "
                         "the rank of the current process.")
    a = _source(_array(tensor, "isend"))
    req = g.comm.Isend(_spec(a), peer, tag)
    return run(g, f"send to rank {dst}", [req], None, True, [tensor], collective=False,
               peers=[peer])


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> Work | None:
    """Start receiving into ``tensor`` from global rank ``src`` (any rank when None);
    the returned work's ``source_rank()`` says who sent it."""
    g = _resolve(group, "irecv")
    if g is None:
        return None
    MPI = _mpi()
    peer = MPI.ANY_SOURCE if src is None else g.group_rank(src, "src")
    if peer == g.rank():
        raise ValueError("Invalid source rank: source rank should not be the same as the rank "
                         "of the current process.")
    a = _array(tensor, "irecv", out=True)
    buf, write_back = _inout(a, reduce=False)
    status = MPI.Status()
    req = g.comm.Irecv(_spec(buf), peer, tag)
    work = run(g, "recv" if src is None else f"recv from rank {src}", [req], None, True,
               [tensor], collective=False, peers=None if src is None else [peer])

    def finish() -> None:
        work._source = g.ranks[status.Get_source()] if src is None else src
        if write_back is not None:
            write_back()

    work._finish = finish
    work._status = status
    return work


def send(tensor: Tensor, dst: int, group=None, tag: int = 0) -> None:
    """Send ``tensor`` to global rank ``dst``."""
    work = isend(tensor, dst, group, tag)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """Receive into ``tensor`` from global rank ``src`` (any rank when None); returns the
    sender's rank (-1 on a rank outside ``group``)."""
    work = irecv(tensor, src, group, tag)
    if work is None:
        return -1
    work.wait()
    return work.source_rank()


# ---- picklable objects -----------------------------------------------------------------------
def _wait(g: ProcessGroup, label: str, seq: int, reqs: list, start: float) -> None:
    wait_requests(reqs, g, label, seq, start + g.timeout, start)


def _pickled(obj) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def _unpickle(data: np.ndarray, sizes: np.ndarray) -> list:
    """The objects pickled back to back in ``data`` with the given byte counts."""
    ends = np.cumsum(sizes)
    return [pickle.loads(data[e - s: e].tobytes()) for s, e in zip(sizes, ends)]


def _displs(sizes: np.ndarray) -> list[int]:
    return (np.cumsum(sizes) - sizes).tolist()


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Gather every rank's picklable ``obj`` into ``object_list`` on all ranks."""
    g = _resolve(group, "all_gather_object")
    if g is None:
        return
    n = g.size()
    if not isinstance(object_list, list) or len(object_list) != n:
        raise ValueError(f"all_gather_object(): object_list must be a list of {n} elements "
                         "(one per rank)")
    seq = _start(g, "all_gather_object")
    MPI, start = _mpi(), time.monotonic()
    data = _pickled(obj)
    sizes = np.empty(n, np.int64)
    _wait(g, "all_gather_object", seq,
          [g.comm.Iallgather([np.array([data.size], np.int64), MPI.INT64_T],
                             [sizes, MPI.INT64_T])], start)
    recv = np.empty(int(sizes.sum()), np.uint8)
    _wait(g, "all_gather_object", seq,
          [g.comm.Iallgatherv([data, MPI.UINT8_T],
                              [recv, (sizes.tolist(), _displs(sizes)), MPI.UINT8_T])], start)
    object_list[:] = _unpickle(recv, sizes)


def gather_object(obj, object_gather_list: list | None = None, dst: int = 0,
                  group=None) -> None:
    """Gather every rank's picklable ``obj`` into ``object_gather_list`` on global rank
    ``dst`` (a list of one element per rank there; None elsewhere)."""
    g, root = _group_and_root(group, dst, "gather_object", "dst")
    if g is None:
        return
    n, me = g.size(), g.rank() == root
    if me and (not isinstance(object_gather_list, list) or len(object_gather_list) != n):
        raise ValueError(f"gather_object(): object_gather_list must be a list of {n} elements "
                         "(one per rank) on the destination rank")
    seq = _start(g, "gather_object", lambda: f"dst={dst}")
    MPI, start = _mpi(), time.monotonic()
    data = _pickled(obj)
    sizes = np.empty(n, np.int64) if me else None
    _wait(g, "gather_object", seq,
          [g.comm.Igather([np.array([data.size], np.int64), MPI.INT64_T],
                          [sizes, MPI.INT64_T] if me else None, root)], start)
    recv = np.empty(int(sizes.sum()), np.uint8) if me else None
    _wait(g, "gather_object", seq,
          [g.comm.Igatherv([data, MPI.UINT8_T],
                           [recv, (sizes.tolist(), _displs(sizes)), MPI.UINT8_T] if me else None,
                           root)], start)
    if me:
        object_gather_list[:] = _unpickle(recv, sizes)


def scatter_object_list(scatter_object_output_list: list,
                        scatter_object_input_list: list | None = None, src: int = 0,
                        group=None) -> None:
    """Send ``scatter_object_input_list[i]`` of global rank ``src`` to group rank i, which
    gets it as ``scatter_object_output_list[0]``."""
    g, root = _group_and_root(group, src, "scatter_object_list", "src")
    if g is None:
        return
    n, me = g.size(), g.rank() == root
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("scatter_object_list(): Expected argument scatter_object_output_list "
                         "to be a list of size at least 1.")
    if me and (not isinstance(scatter_object_input_list, list)
               or len(scatter_object_input_list) != n):
        raise ValueError(f"scatter_object_list(): scatter_object_input_list must be a list of "
                         f"{n} elements (one per rank) on the source rank")
    seq = _start(g, "scatter_object_list", lambda: f"src={src}")
    MPI, start = _mpi(), time.monotonic()
    blobs = [_pickled(o) for o in scatter_object_input_list] if me else []
    sizes = np.array([b.size for b in blobs], np.int64) if me else None
    size = np.empty(1, np.int64)
    _wait(g, "scatter_object_list", seq,
          [g.comm.Iscatter([sizes, MPI.INT64_T] if me else None, [size, MPI.INT64_T], root)],
          start)
    send = ([np.concatenate(blobs), (sizes.tolist(), _displs(sizes)), MPI.UINT8_T] if me
            else None)
    recv = np.empty(int(size[0]), np.uint8)
    _wait(g, "scatter_object_list", seq,
          [g.comm.Iscatterv(send, [recv, MPI.UINT8_T], root)], start)
    scatter_object_output_list[0] = pickle.loads(recv.tobytes())


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace the elements of ``object_list`` on every rank with those of global rank
    ``src`` (every rank passes a list of the same length)."""
    g, root = _group_and_root(group, src, "broadcast_object_list", "src")
    if g is None:
        return
    seq = _start(g, "broadcast_object_list", lambda: f"len={len(object_list)}, src={src}")
    MPI, start = _mpi(), time.monotonic()
    me = g.rank() == root
    blobs = [_pickled(o) for o in object_list] if me else []
    sizes = np.array([b.size for b in blobs] if me else [0] * len(object_list), np.int64)
    _wait(g, "broadcast_object_list", seq, [g.comm.Ibcast([sizes, MPI.INT64_T], root)], start)
    data = np.concatenate(blobs) if me and blobs else np.empty(int(sizes.sum()), np.uint8)
    _wait(g, "broadcast_object_list", seq, [g.comm.Ibcast([data, MPI.UINT8_T], root)], start)
    if not me:
        object_list[:] = _unpickle(data, sizes)


__all__ = [
    "GroupMember", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object",
    "all_reduce", "all_to_all", "all_to_all_single", "barrier", "broadcast",
    "broadcast_object_list", "gather", "gather_object", "irecv", "isend", "monitored_barrier",
    "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list",
    "send"
]
