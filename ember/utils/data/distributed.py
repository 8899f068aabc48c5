"""DistributedSampler: each rank of a data-parallel job visits its own share of the dataset."""
from __future__ import annotations

import math

from ember.utils.data.sampler import Sampler


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` visits this epoch.

    Every rank draws the same permutation (seeded with ``seed + epoch``, so call
    ``set_epoch`` each epoch to reshuffle), pads it by wrapping around to a multiple of
    ``num_replicas`` (or, with ``drop_last``, cuts it down to one) and takes every
    ``num_replicas``-th index from ``rank``: the ranks' shares are disjoint and equally long,
    which DDP needs (every rank must run the same number of steps). As PyTorch's, but the
    shuffled order comes from ember's generator, not torch's bits; without shuffling the
    indices are PyTorch's exactly.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ember import distributed as dist

            if not dist.is_available() or not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: num_replicas and rank default to the process group's "
                    "world size and rank, but no process group is initialized; call "
                    "ember.distributed.init_process_group() first or pass both explicitly"
                )
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from ember import random as R

            g = R.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = R.rng(g).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            pad = self.total_size - n
            if pad > 0:
                indices += (indices * math.ceil(pad / n))[:pad]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch``: every rank must call it with the same value."""
        self.epoch = epoch
