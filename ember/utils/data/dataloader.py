"""``DataLoader``: batches from a dataset, in this process or in worker processes.

With ``num_workers > 0`` each worker is a real process that fetches and collates whole batches;
the main process hands out batch indices round-robin, keeps ``prefetch_factor`` batches per
worker in flight, and yields results in order.  A worker's exception is re-raised here with
the worker's traceback; a worker that dies, or a batch that takes longer than ``timeout``,
raises RuntimeError instead of hanging.
"""
from __future__ import annotations

import itertools
import multiprocessing
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataset import IterableDataset
from ember.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

_POLL = 0.1  # seconds between liveness checks while waiting for a worker


@dataclass
class WorkerInfo:
    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its id, the number of workers, its seed and dataset copy."""
    return _worker_info


class _ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc: BaseException, where: str) -> None:
        self.exc_type = type(exc)
        self.msg = (
            f"Caught {type(exc).__name__} {where}.\nOriginal "
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        )

    def reraise(self):
        try:
            err = self.exc_type(self.msg)
        except Exception:  # noqa: BLE001 - exception types with unusual constructors
            err = RuntimeError(self.msg)
        raise err


class _Fetcher:
    """Turns a list of indices (or, for iterable datasets, a count) into one batch."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool,
                 batch_size) -> None:
        self.dataset = dataset
        self.auto = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.batch_size = batch_size
        self.iterable = isinstance(dataset, IterableDataset)
        self._it = iter(dataset) if self.iterable else None

    def fetch(self, indices):
        if self.iterable:
            if not self.auto:
                return self.collate_fn(next(self._it))
            data = list(itertools.islice(self._it, self.batch_size))
            if not data or (self.drop_last and len(data) < self.batch_size):
                raise StopIteration
            return self.collate_fn(data)
        if self.auto:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(indices) if getitems else [self.dataset[i] for i in indices]
            return self.collate_fn(data)
        return self.collate_fn(self.dataset[indices])


def _worker_loop(dataset, index_queue, result_queue, fetcher_args, worker_id: int,
                 num_workers: int, seed: int, init_fn) -> None:
    global _worker_info
    from ember import random as R

    random.seed(seed)
    np.random.seed(seed % 2**32)
    R.manual_seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = _Fetcher(dataset, *fetcher_args)
    except Exception as e:  # noqa: BLE001 - reported to the main process
        init_error = _ExceptionWrapper(e, f"in DataLoader worker process {worker_id}")
        fetcher = None
    else:
        init_error = None
    exhausted = False
    while True:
        task = index_queue.get()
        if task is None:
            break
        idx, indices = task
        if init_error is not None:
            result_queue.put((idx, init_error))
            continue
        if exhausted:
            result_queue.put((idx, StopIteration()))
            continue
        try:
            result_queue.put((idx, fetcher.fetch(indices)))
        except StopIteration:
            exhausted = True
            result_queue.put((idx, StopIteration()))
        except Exception as e:  # noqa: BLE001 - reported to the main process
            result_queue.put((idx, _ExceptionWrapper(e, f"in DataLoader worker process {worker_id}")))
    result_queue.cancel_join_thread()


class DataLoader:
    """Iterates over ``dataset`` in batches (PyTorch's arguments and rules)."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but "
                    f"got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                    f"but got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto = batch_sampler is not None or (self._iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if self._auto else default_convert)

    def _index_stream(self):
        if self._iterable:
            return itertools.repeat(None)
        return iter(self.batch_sampler if self._auto else self.sampler)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self.batch_sampler if self._auto else self.sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process()
        if self.persistent_workers:
            if self._iterator is None:
                self._iterator = _MultiProcessIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        return _MultiProcessIter(self)

    def _single_process(self):
        fetcher = _Fetcher(self.dataset, self._auto, self.collate_fn, self.drop_last,
                           self.batch_size)
        for indices in self._index_stream():
            try:
                yield fetcher.fetch(indices)
            except StopIteration:
                return


class _MultiProcessIter:
    """The iterator of a DataLoader with worker processes."""

    def __init__(self, loader: DataLoader) -> None:
        from ember import random as R

        self.loader = loader
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        n = loader.num_workers
        base_seed = int(R.rng(loader.generator).integers(0, 2**63 - 1))
        self.result_queue = ctx.Queue()
        self.index_queues = []
        self.workers = []
        fetcher_args = (loader._auto, loader.collate_fn, loader.drop_last, loader.batch_size)
        for wid in range(n):
            iq = ctx.Queue()
            w = ctx.Process(
                target=_worker_loop,
                args=(loader.dataset, iq, self.result_queue, fetcher_args, wid, n,
                      base_seed + wid, loader.worker_init_fn),
                daemon=True,
            )
            w.start()
            self.index_queues.append(iq)
            self.workers.append(w)
        self._shutdown = False
        self._reset()

    def _reset(self) -> None:
        self.indices = self.loader._index_stream()
        self.send_idx = 0
        self.recv_idx = 0
        self.buffer: dict = {}
        self.exhausted_workers: set = set()
        self.task_worker: dict = {}
        self.sampler_done = False
        for _ in range(self.loader.prefetch_factor * len(self.workers)):
            self._dispatch()

    def _dispatch(self) -> None:
        live = [i for i in range(len(self.workers)) if i not in self.exhausted_workers]
        if self.sampler_done or not live:
            return
        try:
            indices = next(self.indices)
        except StopIteration:
            self.sampler_done = True
            return
        wid = live[self.send_idx % len(live)] if self.loader._iterable else \
            self.send_idx % len(self.workers)
        self.index_queues[wid].put((self.send_idx, indices))
        self.task_worker[self.send_idx] = wid
        self.send_idx += 1

    def __iter__(self):
        return self

    def _get(self):
        timeout = self.loader.timeout
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=_POLL)
            except queue.Empty:
                waited += _POLL
                dead = [w.pid for w in self.workers if not w.is_alive()]
                if dead:
                    self._stop()
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                        "unexpectedly"
                    ) from None
                if timeout and waited >= timeout:
                    self._stop()
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None

    def __next__(self):
        while True:
            if self.recv_idx >= self.send_idx:
                if not self.loader.persistent_workers:
                    self._stop()
                raise StopIteration
            if self.recv_idx in self.buffer:
                data = self.buffer.pop(self.recv_idx)
                wid = self.task_worker.pop(self.recv_idx)
                self.recv_idx += 1
                if isinstance(data, StopIteration):
                    self.exhausted_workers.add(wid)
                self._dispatch()
                if isinstance(data, StopIteration):
                    continue
                if isinstance(data, _ExceptionWrapper):
                    self._stop()
                    data.reraise()
                return data
            idx, data = self._get()
            self.buffer[idx] = data

    def _stop(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self.workers:
            w.join(timeout=1.0)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1.0)
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        if getattr(self, "_shutdown", True) is False:
            self._stop()
