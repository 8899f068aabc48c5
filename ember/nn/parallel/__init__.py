"""``ember.nn.parallel``: data parallelism across processes (``DistributedDataParallel``)."""
from ember.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
