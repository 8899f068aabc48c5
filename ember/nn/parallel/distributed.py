"""DistributedDataParallel: one model replica per process, gradients averaged during backward.

Every rank runs the same model on its own share of the batch. At construction rank 0's
parameters and buffers are broadcast, so all replicas start equal; during backward each
parameter's post-accumulate-grad hook marks it ready, and once every parameter of a bucket is
ready the bucket's gradients are flattened into one buffer, divided by the world size and sent
with a non-blocking ``all_reduce``, overlapping the rest of backward. Buckets are launched in
one fixed order on every rank (MPI needs collectives issued in the same order everywhere); a
callback queued on the autograd engine waits for them at the end of backward and writes the
averages back into ``.grad``. After a step every replica therefore applies the same update.

Only the public collectives of ``ember.distributed`` are used (``broadcast``, ``all_reduce``
with ``async_op=True``, ``get_world_size``/``get_rank``), imported when a DDP is built, so
importing ember never imports mpi4py.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager

from ember._tensor import Tensor
from ember.autograd import engine, grad_mode
from ember.autograd.graph import AccumulateGrad
from ember.nn.modules.module import Module

_MB = 1024 * 1024
_FIRST_BUCKET_BYTES = 1 * _MB  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES
_BROADCAST_BUCKET_BYTES = 250 * _MB


def _find_tensors(obj) -> list:
    """The tensors in a forward's output (nested lists, tuples and dicts)."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _find_tensors(o)]
    return []


def _reachable_leaves(outputs: list) -> set:
    """``id`` of every leaf the outputs' graph reaches (the parameters this forward used)."""
    seen, leaves = set(), set()
    stack = []
    for t in outputs:
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t._requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is AccumulateGrad:
            leaves.add(id(node.variable))
            continue
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return leaves


def _assign_buckets(params: list, order: list, limits: list) -> list:
    """Group parameter indices, taken in ``order``, into per-dtype buckets of at least
    ``limits[k]`` bytes (the k-th bucket of a dtype; the last limit repeats), ordered by when
    their first parameter comes in ``order``."""
    done, open_ = [], {}
    count: dict = {}
    for i in order:
        key = params[i]._data.dtype
        b = open_.setdefault(key, [[], 0])
        b[0].append(i)
        b[1] += params[i]._data.nbytes
        k = count.get(key, 0)
        if b[1] >= limits[min(k, len(limits) - 1)]:
            done.append(b[0])
            del open_[key]
            count[key] = k + 1
    done.extend(b[0] for b in open_.values())
    pos = {i: n for n, i in enumerate(order)}
    return sorted(done, key=lambda b: pos[b[0]])


class _Bucket:
    """Parameters whose gradients travel in one flat buffer and one all_reduce."""

    def __init__(self, indices: list, params: list) -> None:
        from ember.ops.creation import zeros

        self.indices = indices
        self.offsets = []
        n = 0
        for i in indices:
            self.offsets.append(n)
            n += params[i]._data.size
        self.buffer = zeros(n, dtype=params[indices[0]].dtype)
        self.views: list = [None] * len(indices)  # grads that are views of buffer (as_bucket_view)


class DistributedDataParallel(Module):
    """Data parallelism across processes: wrap the model, train as usual on each rank's share.

    ``forward`` runs ``module``; the following ``backward`` averages gradients over the
    process group, bucket by bucket, while it still runs. Use a ``DistributedSampler`` so
    every rank sees different samples and runs the same number of steps. ``dim`` and the
    deprecated ``check_reduction`` are accepted and unused, as in PyTorch on CPU;
    ``static_graph`` searches for unused parameters every step, like
    ``find_unused_parameters``.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        from ember import distributed as dist

        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel needs a process group: call "
                "ember.distributed.init_process_group() on every rank first (start the ranks "
                "with mpiexec -n N or python -m ember.distributed.run --nproc-per-node N)"
            )
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        devices = {str(p.device) for p in module.parameters()}
        if (device_ids is not None or output_device is not None) and devices == {"cpu"}:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                f"single-device GPU modules, but got device_ids {device_ids}, output_device "
                f"{output_device}, and module parameters on {sorted(devices)}; leave both None "
                "for a CPU module"
            )
        self.module = module
        self._dist = dist
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.process_group = process_group
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MB)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.world_size = dist.get_world_size(process_group)
        self.rank = dist.get_rank(process_group)
        self._params = params
        self.modules_buffers = list(module.buffers())

        if init_sync and self.world_size > 1:
            self._verify_same_model()
            self._broadcast_coalesced(list(module.parameters()) + self.modules_buffers)

        # As torch: without unused-parameter search, the first iteration reduces everything in
        # one bucket and records the order the gradients become ready in; the buckets are then
        # rebuilt once in that order (rank 0's), so later backward passes overlap best.
        self._dynamic_unused = find_unused_parameters or static_graph
        if self._dynamic_unused:
            first = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
            limits = [min(first, self.bucket_bytes_cap), self.bucket_bytes_cap]
            self._rebuild_pending = False
        else:
            limits = [float("inf")]
            self._rebuild_pending = True
        self._set_buckets(_assign_buckets(params, list(reversed(range(len(params)))), limits))
        self._ready_order: list = []
        self._expect_hooks = False
        self._require_finalize = False
        self._unused: list = []
        self._reset_iteration()
        ref = weakref.ref(self)
        for i, p in enumerate(params):
            p.register_post_accumulate_grad_hook(_make_hook(ref, i))

    # ---- construction helpers --------------------------------------------------------------
    def _verify_same_model(self) -> None:
        """Every rank must wrap the same architecture (same parameter count and shapes)."""
        from ember.ops.creation import tensor

        shapes = [tuple(p.shape) for p in self.module.parameters()]
        sig = [len(shapes), sum(p.numel() for p in self.module.parameters()),
               hash(tuple(shapes)) % (1 << 40)]
        t = tensor(sig + [-v for v in sig])
        self._dist.all_reduce(t, op=self._dist.ReduceOp.MAX, group=self.process_group)
        v = t.tolist()
        if v[:3] != sig or [-x for x in v[3:]] != sig:
            raise RuntimeError(
                f"DDP expects same model across all ranks, but rank {self.rank} has {sig[0]} "
                f"parameters ({sig[1]} elements, shapes {shapes}) and another rank has a "
                "different set; build the same module on every rank"
            )

    def _broadcast_coalesced(self, tensors: list) -> None:
        """Give every rank rank 0's values: one broadcast per dtype (up to 250 MB each)."""
        from ember.ops.shape import cat

        groups: dict = {}
        for t in tensors:
            g = groups.setdefault(t._data.dtype, [[]])
            if sum(x._data.nbytes for x in g[-1]) + t._data.nbytes > _BROADCAST_BUCKET_BYTES:
                g.append([])
            g[-1].append(t)
        for chunks in groups.values():
            for chunk in chunks:
                if not chunk:
                    continue
                flat = cat([t.detach().reshape(-1) for t in chunk])
                self._dist.broadcast(flat, 0, group=self.process_group)
                o = 0
                with grad_mode.no_grad():
                    for t in chunk:
                        n = t._data.size
                        t.copy_(flat[o:o + n].view(t.shape))
                        o += n

    def _set_buckets(self, buckets: list) -> None:
        self._buckets = [_Bucket(b, self._params) for b in buckets]
        self._where = {}
        for b, bucket in enumerate(self._buckets):
            for k, i in enumerate(bucket.indices):
                self._where[i] = (b, k)

    # ---- per-iteration state -----------------------------------------------------------------
    def _reset_iteration(self) -> None:
        self._pending = [len(b.indices) for b in self._buckets]
        self._ready = [False] * len(self._params)
        self._next_bucket = 0
        self._works: list = []
        self._used_work = None
        self._used = None
        self._unused_marked = False
        self._callback_queued = False

    def _rebuild_buckets(self) -> None:
        """Bucket in the order gradients became ready in the first iteration (rank 0's order)."""
        from ember.ops.creation import tensor

        self._rebuild_pending = False
        seen = set(self._ready_order)
        order = self._ready_order + [i for i in reversed(range(len(self._params)))
                                     if i not in seen]
        if self.world_size > 1:
            t = tensor(order)
            self._dist.broadcast(t, 0, group=self.process_group)
            order = t.tolist()
        self._set_buckets(_assign_buckets(
            self._params, order, [min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap),
                                  self.bucket_bytes_cap]))

    # ---- forward ---------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        sync = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            self._ensure_prior_reduction_finished()
            if self._rebuild_pending and self._ready_order:
                self._rebuild_buckets()
        if (self.require_forward_param_sync and self.broadcast_buffers and self.modules_buffers
                and self.world_size > 1):
            self._broadcast_coalesced(self.modules_buffers)
        out = self.module(*inputs, **kwargs)
        if sync:
            self.require_forward_param_sync = True
            self._prepare_for_backward(out)
        else:
            self.require_forward_param_sync = False
        return out

    def _ensure_prior_reduction_finished(self) -> None:
        if not self._require_finalize:
            return
        missing = [i for i, r in enumerate(self._ready) if not r]
        hint = (
            "this likely means that not all `forward` outputs participate in computing the "
            "loss: make every output of `forward` part of the loss"
            if self._dynamic_unused else
            "pass find_unused_parameters=True to ember.nn.parallel.DistributedDataParallel, "
            "and make sure all `forward` function outputs participate in calculating loss"
        )
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            f"producing loss: {hint}.\nParameter indices which did not receive grad for rank "
            f"{self.rank}: {' '.join(map(str, missing))}"
        )

    def _prepare_for_backward(self, out) -> None:
        self._reset_iteration()
        self._expect_hooks = True
        if self._dynamic_unused:
            used = _reachable_leaves(_find_tensors(out))
            self._unused = [i for i, p in enumerate(self._params) if id(p) not in used]
        else:
            self._unused = []

    # ---- backward ----------------------------------------------------------------------------
    def _on_grad_ready(self, index: int) -> None:
        if not self._expect_hooks:
            return  # no_sync(), or a backward without a forward before it: accumulate locally
        if not self._callback_queued:
            self._callback_queued = True
            engine.queue_callback(self._finalize_backward)
        if self._rebuild_pending:
            self._ready_order.append(index)
        if not self._unused_marked:
            self._unused_marked = True
            for i in self._unused:
                self._mark_ready(i)
        self._mark_ready(index)

    def _mark_ready(self, index: int) -> None:
        if self._ready[index]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by the use of "
                "a module parameter outside the `forward` function, or by parameters reused in "
                f"several reentrant backward passes. Parameter index {index} on rank "
                f"{self.rank} has been marked ready twice in this iteration."
            )
        self._ready[index] = True
        self._require_finalize = True
        for w in self._works:  # MPI moves a non-blocking collective only inside MPI calls:
            if not w.is_completed():  # one test per gradient keeps the launched ones going
                break
        b = self._where[index][0]
        self._pending[b] -= 1
        while self._next_bucket < len(self._buckets) and not self._pending[self._next_bucket]:
            self._launch(self._buckets[self._next_bucket])
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets) and self._dynamic_unused \
                and self._used_work is None:
            from ember._dtype import int32
            from ember.ops.creation import tensor

            self._used = tensor([p._grad is not None for p in self._params], dtype=int32)
            self._used_work = self._dist.all_reduce(self._used, group=self.process_group,
                                                    async_op=True)

    def _launch(self, bucket: _Bucket) -> None:
        """Flatten the bucket's gradients (zeros for a missing one) and start its all_reduce."""
        buf = bucket.buffer._data
        for k, i in enumerate(bucket.indices):
            g = self._params[i]._grad
            o, n = bucket.offsets[k], self._params[i]._data.size
            if g is None:
                buf[o:o + n] = 0
            elif g is not bucket.views[k]:
                buf[o:o + n] = g._data.reshape(-1)
        if self.world_size > 1:
            buf /= self.world_size
        self._works.append(self._dist.all_reduce(bucket.buffer, group=self.process_group,
                                                 async_op=True))

    def _finalize_backward(self) -> None:
        if self._next_bucket < len(self._buckets):
            return  # a parameter got no gradient: the next forward raises, as torch does
        for w in self._works:
            if w is not None:
                w.wait()
        if self._used_work is not None:
            self._used_work.wait()
        used = self._used.tolist() if self._used is not None else None
        from ember.ops.creation import zeros

        for bucket in self._buckets:
            buf = bucket.buffer
            for k, i in enumerate(bucket.indices):
                if used is not None and not used[i]:
                    continue  # unused on every rank: its .grad stays as it was
                p = self._params[i]
                o, n = bucket.offsets[k], p._data.size
                if self.gradient_as_bucket_view:
                    if bucket.views[k] is None:
                        bucket.views[k] = buf[o:o + n].view(p.shape)
                    p._grad = bucket.views[k]
                elif p._grad is None or p._grad._requires_grad:
                    p._grad = zeros(p.shape, dtype=p.dtype)
                    p._grad._data[...] = buf._data[o:o + n].reshape(p._data.shape)
                else:
                    p._grad._data[...] = buf._data[o:o + n].reshape(p._data.shape)
        self._expect_hooks = False
        self._require_finalize = False

    # ---- public API --------------------------------------------------------------------------
    @contextmanager
    def no_sync(self):
        """Inside, backward only accumulates local gradients; the first backward after it
        averages the accumulated ones (gradient accumulation over several micro-batches)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _make_hook(ref, index: int):
    """A post-accumulate-grad hook that reaches the DDP weakly (no cycle keeps it alive)."""
    def hook(_param) -> None:
        ddp = ref()
        if ddp is not None:
            ddp._on_grad_ready(index)
    return hook


