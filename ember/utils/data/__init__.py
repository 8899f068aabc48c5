"""``ember.utils.data``: datasets, samplers, collation and the DataLoader."""
from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataloader import DataLoader, get_worker_info
from ember.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from ember.utils.data.distributed import DistributedSampler
from ember.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
