"""ember.distributed: PyTorch's distributed API over MPI (mpi4py, e.g. with MPICH from PyPI).

Start the ranks with ``python -m ember.distributed.run --nproc-per-node N script.py args``
(the torchrun role) or ``mpiexec -n N python script.py args``; in the script::

    import ember.distributed as dist
    dist.init_process_group("mpi")          # rank and world size come from MPI ("gloo" too)
    dist.all_reduce(t)                       # in place, every rank gets the sum
    work = dist.all_reduce(t, async_op=True); ...; work.wait()

Groups: ``init_process_group``, ``destroy_process_group``, ``is_initialized``, ``get_rank``,
``get_world_size``, ``get_backend``, ``new_group`` (ranks outside it get
``GroupMember.NON_GROUP_MEMBER``: their rank and size in it are -1 and collectives on it are
skipped with a warning, as in PyTorch), ``barrier``, ``monitored_barrier``.

Collectives, in place on CPU tensors of every ember dtype, with ``group=None,
async_op=False``: ``all_reduce`` (``ReduceOp.SUM/AVG/MAX/MIN/PRODUCT/BAND/BOR/BXOR``),
``broadcast``, ``reduce``, ``all_gather``, ``all_gather_into_tensor``, ``reduce_scatter``,
``reduce_scatter_tensor``, ``gather``, ``scatter``, ``all_to_all``, ``all_to_all_single``;
point to point ``send``/``recv``/``isend``/``irecv``; picklable objects
``all_gather_object``, ``broadcast_object_list``, ``gather_object``,
``scatter_object_list``. ``async_op=True`` returns a ``Work`` with ``wait(timeout=None)`` and
``is_completed()``.

Faults: every wait honours the group's ``timeout`` and then raises a RuntimeError naming the
op, its sequence number and the rank(s) it waited for, with where they are (see
``process_group``); an uncaught exception on a rank aborts all ranks; with
``EMBER_DISTRIBUTED_DEBUG=DETAIL`` set when ``init_process_group`` runs, every collective
first checks that all ranks run the same op on the same shapes and dtypes. The launcher
(``run``) exits non-zero naming the rank that failed, with its traceback or its signal.

Missing: the ``nccl`` backend (GPU tensors through CuPy's NCCL) is not implemented:
``init_process_group("nccl")`` raises RuntimeError.
"""
from ember.distributed.collectives import (
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_to_all,
    all_to_all_single,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    gather_object,
    irecv,
    isend,
    monitored_barrier,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
)
from ember.distributed.process_group import (
    Backend,
    GroupMember,
    ProcessGroup,
    ReduceOp,
    Work,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    new_group,
)

group = GroupMember  # torch.distributed.group.WORLD
