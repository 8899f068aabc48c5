"""Process groups over MPI, work handles, and the deadline-bounded wait every operation uses.

Each group holds two MPI communicators: ``comm`` carries the data of collectives and
point-to-point ops, ``ctrl`` (a duplicate) carries only "where are you?" queries. No MPI call
that can wait for another rank blocks without a deadline: operations start non-blocking MPI
requests and :func:`wait_requests` polls ``Test`` until they complete or the deadline (the
group's timeout from the op's start) passes. While it polls, a rank answers the queries that
arrive on any of its groups' control communicators with the number and name of the last
collective it started on that group and the op it is waiting in.

On a timeout the waiting rank sends a query to every other member, waits briefly for answers
(timeout / 10, between 0.2 and 1 s, answering theirs meanwhile) and raises a RuntimeError that
names the op, its number and the ranks to blame: those that did not answer (busy outside
``ember.distributed``, hung or dead) and those at another collective, with where they are, e.g.
``all_reduce #2 on rank 0 timed out after 5.0 s waiting for rank(s) [3] (rank 3 is at
all_reduce #1, waiting in recv)``. A point-to-point op blames its peer. After a timeout the
group's pending MPI requests cannot be cancelled, so the group is unusable: as with PyTorch's
watchdog, the practical outcome is the end of the job. The excepthook ``init_process_group``
installs prints an uncaught exception, keeps answering queries for 0.2 s (so that peers timing
out at the same moment learn where this rank is, and mpiexec relays the traceback), then calls
``MPI_Abort``, which stops every rank.
"""
from __future__ import annotations

import datetime
import enum
import os
import sys
import time
import traceback
import warnings

import numpy as np

_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
_SPIN_S = 0.2  # poll Test back to back this long (MPI progresses only inside Test), then sleep
_SLEEP_MAX_S = 1e-3
_SERVE_EVERY_S = 0.01  # how often a polling rank answers queries
_QUERY_TAG, _REPLY_TAG = 1, 2


class ReduceOp(enum.Enum):
    """Reduction operations of ``all_reduce``, ``reduce`` and ``reduce_scatter``."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {list(ReduceOp).index(self)}>"


class Backend(str):
    """A backend name, compared as a plain lower-case string. ``"gloo"`` (PyTorch's CPU
    backend, which CPU scripts name) is served by MPI, so it becomes ``"mpi"``."""

    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = name.lower()
        if value not in (cls.MPI, cls.NCCL, cls.GLOO):
            raise ValueError(
                f"Invalid backend: '{name}'. ember.distributed supports 'mpi' (CPU tensors, "
                "through mpi4py; 'gloo' is an alias) and 'nccl'."
            )
        return str.__new__(cls, cls.MPI if value == cls.GLOO else value)


class ProcessGroup:
    """A set of ranks with its own MPI communicators and collective sequence counter."""

    def __init__(self, comm, ctrl, ranks: list[int], backend: str, timeout: float) -> None:
        self.comm = comm
        self.ctrl = ctrl
        self.ranks = ranks  # global rank of each group rank
        self.backend = backend
        self.timeout = timeout  # seconds
        self.seq = 0  # collectives started on this group
        self.op = ""  # name of the last collective started
        self._history = [""] * 64  # names of the last collectives, by sequence number
        self._replies: list = []  # pending Isend requests of answers to queries
        self._rank, self._size = comm.Get_rank(), comm.Get_size()

    def op_at(self, seq: int) -> str:
        """The name of this rank's collective number ``seq`` (recent ones only)."""
        return self._history[seq % len(self._history)]

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def group_rank(self, global_rank: int, what: str = "rank") -> int:
        """The group rank of ``global_rank``; ValueError naming the op's argument if absent."""
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise ValueError(
                f"{what} {global_rank} is not part of the group (its global ranks are "
                f"{self.ranks})"
            ) from None

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"


class _NonGroupMember:
    def __repr__(self) -> str:
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    """``GroupMember.WORLD`` is the default group; ``NON_GROUP_MEMBER`` what ``new_group``
    returns on ranks outside the new group, as in PyTorch."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = _NonGroupMember()


class _State:
    def __init__(self) -> None:
        self.world: ProcessGroup | None = None
        self.groups: list[ProcessGroup] = []
        self.prev_excepthook = None
        self.waiting_in = ""  # the op wait_requests is polling for (what queries are told)
        self.failed_in = ""  # the op that timed out on this rank, told to later queries
        self.debug = False  # EMBER_DISTRIBUTED_DEBUG=DETAIL when the default group was made
        self.queries = 0  # "where are you?" queries this rank has sent


_state = _State()


def _mpi():
    from mpi4py import MPI

    return MPI


def is_available() -> bool:
    """True when mpi4py can be imported (the ``mpi`` backend's engine)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return _state.world is not None


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    """False: NCCL collectives (through CuPy) are not implemented in ember yet."""
    return False


def is_gloo_available() -> bool:
    return False


def _world() -> ProcessGroup:
    if _state.world is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _state.world


def _resolve(group, op: str) -> ProcessGroup | None:
    """The group an op runs on; None (with PyTorch's warning) on a rank outside it."""
    if group is None or group is GroupMember.WORLD:
        return _world()
    if group is GroupMember.NON_GROUP_MEMBER:
        warnings.warn(
            f"Running {op} on global rank {_world().rank()} which does not belong to the given "
            "group.",
            UserWarning,
            stacklevel=3,
        )
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"{op}(): group must be a ProcessGroup or None, got {type(group).__name__}")
    if group.comm is None:
        raise ValueError(f"{op}(): the process group was destroyed")
    return group


def _seconds(timeout, what: str = "timeout") -> float:
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    raise TypeError(
        f"Expected {what} argument to be of type datetime.timedelta, got {type(timeout).__name__}"
    )


# ---- waiting ---------------------------------------------------------------------------------
def _serve_queries() -> None:
    """Answer every pending "where are you?" query on this rank's control communicators."""
    MPI = _mpi()
    status = MPI.Status()
    for g in _state.groups:
        if g.ctrl is None:
            continue
        while g.ctrl.Iprobe(MPI.ANY_SOURCE, _QUERY_TAG, status):
            q = np.empty(1, np.int64)
            g.ctrl.Recv([q, MPI.INT64_T], status.Get_source(), _QUERY_TAG)  # already arrived
            reply = np.array([q[0], g.seq, _OP_CODES.get(g.op, -1),
                              _OP_CODES.get(_state.waiting_in or _state.failed_in, -1)], np.int64)
            g._replies.append((g.ctrl.Isend([reply, MPI.INT64_T], status.Get_source(),
                                            _REPLY_TAG), reply))
        if g._replies:
            g._replies = [r for r in g._replies if not r[0].Test()]


def _op_name(code: int) -> str:
    return _OP_NAMES[code] if 0 <= code < len(_OP_NAMES) else "?"


def _where_are_peers(group: ProcessGroup, budget: float) -> dict[int, tuple | None]:
    """Ask every other member of ``group`` for the sequence number and name of its last
    collective there and the op it is waiting in; None: no answer within ``budget`` s."""
    MPI = _mpi()
    me = group.rank()
    peers = [r for r in range(group.size()) if r != me]
    _state.queries += 1
    qid = _state.queries  # echoed in replies: a late reply to an earlier query is not an answer
    sends, recvs = [], {}
    for r in peers:
        sends.append(group.ctrl.Isend([np.array([qid], np.int64), MPI.INT64_T], r, _QUERY_TAG))
        buf = np.empty(4, np.int64)
        recvs[r] = [group.ctrl.Irecv([buf, MPI.INT64_T], r, _REPLY_TAG), buf]
    answers: dict[int, tuple | None] = {}
    deadline = time.monotonic() + budget
    while len(answers) < len(peers) and time.monotonic() < deadline:
        _serve_queries()
        for r, pending in recvs.items():
            req, buf = pending
            if r in answers or not req.Test():
                continue
            if buf[0] == qid:
                answers[r] = (int(buf[1]), _op_name(buf[2]), _op_name(buf[3]))
            else:
                pending[0] = group.ctrl.Irecv([buf, MPI.INT64_T], r, _REPLY_TAG)
        time.sleep(1e-3)
    for r, (req, _) in recvs.items():
        if r not in answers:
            req.Cancel()
            req.Wait()  # a cancelled receive completes at once
            answers[r] = None
    for req in sends:
        if not req.Test():
            req.Cancel()
    return answers


def _timeout_error(group: ProcessGroup, label: str, seq: int | None, waited: float,
                   peers: list[int] | None) -> RuntimeError:
    """The RuntimeError of a timed-out op, naming the ranks it waited for (see module doc)."""
    me = group.ranks[group.rank()]
    budget = min(1.0, max(0.2, group.timeout / 10))
    _state.failed_in = label.split(" ")[0]
    answers = _where_are_peers(group, budget)
    blamed, notes = [], []
    for r, ans in sorted(answers.items()):
        g = group.ranks[r]
        if peers is not None and r not in peers:
            continue
        if ans is None:
            blamed.append(g)
            notes.append(f"rank {g} did not answer (busy outside ember.distributed, hung or dead)")
            continue
        last, op, waiting = ans
        if seq is not None and last == seq and op == group.op_at(seq):
            continue  # in this very collective too: not the one everyone waits for
        blamed.append(g)
        where = f"rank {g} is at {op} #{last}" if last else f"rank {g} has run no collective"
        notes.append(where if waiting == op else f"{where}, waiting in {waiting}")
    if not blamed:  # every peer answered from this very collective
        blamed = [group.ranks[r] for r in answers]
        notes.append(f"every peer is waiting in {label} #{seq} too")
    name = label if seq is None else f"{label} #{seq}"
    return RuntimeError(
        f"{name} on rank {me} timed out after {waited:.1f} s waiting for rank(s) {blamed} ("
        + "; ".join(notes) + "). Set a longer timeout in init_process_group(timeout=...) if the "
        "op is legitimately slow; this process group can no longer be used."
    )


def _test(reqs: list, status) -> bool:
    if len(reqs) == 1:
        return reqs[0].Test(status)
    return _mpi().Request.Testall(reqs)


def wait_requests(reqs: list, group: ProcessGroup, label: str, seq: int | None, deadline: float,
                  start: float, peers: list[int] | None = None, status=None) -> None:
    """Poll ``reqs`` until all complete; past ``deadline`` raise the timeout RuntimeError.

    For ``_SPIN_S`` it polls back to back (MPI moves data only inside Test, as MPICH's own
    blocking wait does, yielding the CPU every 100 polls), then it sleeps between polls, up to
    1 ms. ``peers`` (group ranks) narrows whom a point-to-point op waits for; None means
    everyone. ``status`` (with a single request) receives its MPI status.
    """
    if _test(reqs, status):
        return
    outer, _state.waiting_in = _state.waiting_in, label.split(" ")[0]
    try:
        _poll(reqs, group, label, seq, deadline, start, peers, status)
    finally:
        _state.waiting_in = outer


def _poll(reqs, group, label, seq, deadline, start, peers, status) -> None:
    t0 = time.monotonic()
    served = t0
    sleep = 1e-5
    polls = 0
    while True:
        if _test(reqs, status):
            return
        now = time.monotonic()
        if now - served > _SERVE_EVERY_S:
            _serve_queries()
            served = now
        if now >= deadline:
            raise _timeout_error(group, label, seq, now - start, peers)
        if now - t0 < _SPIN_S:
            polls += 1
            if polls % 100 == 0:
                os.sched_yield()
        else:
            time.sleep(sleep)
            sleep = min(sleep * 2, _SLEEP_MAX_S)


class Work:
    """The handle an ``async_op=True`` call returns: ``wait()`` blocks (up to the group's
    timeout) until the op is done and its result is in the tensors; ``is_completed()`` polls.
    Where the result goes through a buffer (a non-contiguous tensor, a float16 reduction, the
    tensors of a list), ``wait()`` or a True ``is_completed()`` copies it in, so read the
    tensors only after one of them, as PyTorch requires."""

    def __init__(self, group: ProcessGroup, label: str, seq: int | None, reqs: list,
                 finish=None, result=None, peers: list[int] | None = None) -> None:
        self._group = group
        self._label = label
        self._seq = seq
        self._reqs = reqs
        self._finish = finish
        self._result = result if result is not None else []
        self._peers = peers
        self._start = time.monotonic()
        self._done = False
        self._exception: Exception | None = None
        self._status = None  # an MPI.Status for a receive from any source
        self._source = -1  # the sender of a receive

    def _complete(self) -> None:
        self._done = True
        self._reqs = []
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self) -> bool:
        if not self._done and _test(self._reqs, self._status):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self._done and self._exception is None

    def exception(self):
        return self._exception

    def wait(self, timeout: datetime.timedelta | float | None = None) -> bool:
        """Block until done; the deadline is the group's timeout from the op's start, or
        ``timeout`` (a timedelta or seconds) from now."""
        if self._done:
            return True
        if self._exception is not None:
            raise self._exception
        if timeout is None or timeout == datetime.timedelta(0):
            deadline = self._start + self._group.timeout
        else:
            secs = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
            deadline = time.monotonic() + float(secs)
        try:
            wait_requests(self._reqs, self._group, self._label, self._seq, deadline, self._start,
                          self._peers, self._status)
        except RuntimeError as e:
            self._exception = e
            raise
        self._complete()
        return True

    def result(self) -> list:
        """The output tensors (after ``wait()``)."""
        if not self._done:
            raise RuntimeError("Work needs to be completed before calling result(). Should call "
                               "wait() before result().")
        return self._result

    def source_rank(self) -> int:
        """For a completed ``irecv``: the global rank the message came from."""
        return self._source

    synchronize = wait


def run(group: ProcessGroup, label: str, reqs: list, finish=None, async_op: bool = False,
        result=None, collective: bool = True, peers: list[int] | None = None):
    """Wrap started requests: a Work when ``async_op``, else wait for them and return None."""
    work = Work(group, label, group.seq if collective else None, reqs, finish, result, peers)
    if async_op:
        return work
    work.wait()
    return None


def begin(group: ProcessGroup, label: str) -> int:
    """Count a collective started on ``group`` (the number the timeout error names)."""
    group.seq += 1
    group.op = label
    group._history[group.seq % len(group._history)] = label
    return group.seq

_OP_NAMES = [
    "barrier", "all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor",
    "reduce_scatter", "reduce_scatter_tensor", "gather", "scatter", "all_to_all",
    "all_to_all_single", "all_gather_object", "broadcast_object_list", "gather_object",
    "scatter_object_list", "new_group", "init_process_group", "send", "recv",
]
_OP_CODES = {n: i for i, n in enumerate(_OP_NAMES)}


# ---- group management ------------------------------------------------------------------------
def _make_group(parent_comm, ranks: list[int], backend: str, timeout: float, label: str,
                color: int | None) -> ProcessGroup | None:
    """Split ``parent_comm`` after an Ibarrier with a deadline, so the blocking split itself
    can only wait for ranks that are known to be there."""
    MPI = _mpi()
    req = parent_comm.Ibarrier()
    deadline = time.monotonic() + timeout
    while not req.Test():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{label} timed out after {timeout:.1f} s: not every rank of the parent group "
                "called it (every rank must, including those not in the new group)"
            )
        time.sleep(1e-4)
    comm = parent_comm.Split(MPI.UNDEFINED if color is None else color, 0)
    if comm == MPI.COMM_NULL:
        return None
    ctrl = comm.Dup()
    g = ProcessGroup(comm, ctrl, ranks, backend, timeout)
    _state.groups.append(g)
    return g


def _excepthook(exc_type, exc, tb) -> None:
    """Print the traceback, then abort every rank: an uncaught error must not leave the other
    ranks waiting for this one."""
    prev = _state.prev_excepthook or sys.__excepthook__
    world = _state.world
    if world is None or world.size() == 1:
        prev(exc_type, exc, tb)
        return
    rank = world.ranks[world.rank()]
    sys.stderr.write(f"[rank {rank}] uncaught exception, aborting all ranks:\n")
    sys.stderr.write("".join(traceback.format_exception(exc_type, exc, tb)))
    sys.stderr.flush()
    sys.stdout.flush()
    linger(0.2)  # let mpiexec relay the traceback: MPI_Abort tears down its relay at once
    _mpi().COMM_WORLD.Abort(1)


def linger(seconds: float) -> None:
    """Keep answering peers' queries for ``seconds`` before this rank aborts, so that a peer
    timing out at about the same time still learns where this rank is."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if _state.world is not None:
            _serve_queries()
        time.sleep(5e-3)


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id=None,
) -> None:
    """Join the default process group of the ranks ``mpiexec`` started.

    The ranks and their rendezvous come from MPI (``MPI.COMM_WORLD``), so ``init_method`` and
    ``store`` are accepted for PyTorch compatibility and not used. ``rank``/``world_size`` (or
    the ``RANK``/``WORLD_SIZE`` variables ``python -m ember.distributed.run`` sets) must agree
    with MPI's, else ValueError. ``timeout`` (default 30 minutes, or ``EMBER_DISTRIBUTED_TIMEOUT``
    seconds) bounds every wait. Installs an excepthook that aborts all ranks on an uncaught
    exception.
    """
    if _state.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    if name == Backend.NCCL:
        raise RuntimeError(
            "init_process_group(backend='nccl'): ember has no NCCL backend yet (GPU collectives "
            "through CuPy's cupy.cuda.nccl are not implemented). Use backend='mpi' with CPU "
            "tensors."
        )
    if not is_available():
        raise RuntimeError(
            "init_process_group(backend='mpi') needs mpi4py: pip install mpi4py mpich "
            "(or pip install -e '.[distributed]')"
        )
    if timeout is None:
        env = os.environ.get("EMBER_DISTRIBUTED_TIMEOUT")
        secs = float(env) if env else _DEFAULT_TIMEOUT.total_seconds()
    else:
        secs = _seconds(timeout)
    MPI = _mpi()
    world = MPI.COMM_WORLD
    for what, given, env_name, actual in (
        ("rank", rank, "RANK", world.Get_rank()),
        ("world_size", world_size, "WORLD_SIZE", world.Get_size()),
    ):
        if given is not None and int(given) >= 0 and int(given) != actual:
            raise ValueError(
                f"init_process_group: {what}={given} but MPI started this process as {what} "
                f"{actual}; start the ranks with python -m ember.distributed.run "
                "--nproc-per-node N script.py (or mpiexec -n N python script.py), which gives "
                "each its rank"
            )
        env = os.environ.get(env_name)
        if env is not None and env.strip() and int(env) != actual:
            raise ValueError(
                f"init_process_group: the environment sets {env_name}={env} but MPI started this "
                f"process as {what} {actual}; unset {env_name} or start the ranks with "
                "python -m ember.distributed.run"
            )
    _state.debug = os.environ.get("EMBER_DISTRIBUTED_DEBUG", "").upper() == "DETAIL"
    g = _make_group(world, list(range(world.Get_size())), name, secs, "init_process_group", 0)
    _state.world = g
    GroupMember.WORLD = g
    _state.prev_excepthook = sys.excepthook
    sys.excepthook = _excepthook


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free a group's communicators; without ``group``, every group and the default one."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    groups = list(_state.groups) if group is None or group is _state.world else [group]
    if group is None and _state.world is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    for g in groups:
        for req, _ in g._replies:
            if not req.Test():
                req.Cancel()
        g._replies = []
        if g.comm is not None:
            g.ctrl.Free()
            g.comm.Free()
        g.comm = g.ctrl = None
        _state.groups.remove(g)
    if group is None or group is _state.world:
        _state.world = None
        GroupMember.WORLD = None
        if sys.excepthook is _excepthook:
            sys.excepthook = _state.prev_excepthook or sys.__excepthook__


def new_group(ranks: list[int] | None = None, timeout: datetime.timedelta | None = None,
              backend: str | None = None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of the given global ranks; every rank of the default group must call it, as in
    PyTorch. Ranks outside it get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _world()
    n = world.size()
    members = sorted(set(range(n) if ranks is None else (int(r) for r in ranks)))
    for r in members:
        if not 0 <= r < n:
            raise ValueError(
                f"new_group: rank {r} is out of range for a world of size {n}"
            )
    secs = world.timeout if timeout is None else _seconds(timeout)
    me = world.ranks[world.rank()]
    g = _make_group(world.comm, members, Backend(backend or world.backend), secs, "new_group",
                    0 if me in members else None)
    return GroupMember.NON_GROUP_MEMBER if g is None else g


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (-1 on a rank outside it)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    g = _world() if group is None else group
    return g.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (-1 on a rank outside it)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    g = _world() if group is None else group
    return g.size()


def get_backend(group: ProcessGroup | None = None) -> str:
    if group is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("Invalid process group specified")
    return (_world() if group is None else group).backend


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    g = _world() if group is None else group
    return list(g.ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    return group.ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    return group.group_rank(global_rank)
