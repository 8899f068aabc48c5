"""DistributedSampler against torch's (no process group needed when num_replicas and rank are
given). Without shuffling the indices are torch's exactly; with shuffling ember's generator is
not torch's, so the properties are checked: partition, wrap-around padding, drop_last,
determinism per (seed, epoch), a new order per epoch, the same permutation on every rank."""
import pytest
import torch
from torch.utils.data.distributed import DistributedSampler as TorchSampler

import ember
from ember.utils.data import DataLoader, TensorDataset
from ember.utils.data.distributed import DistributedSampler

CASES = [(n, r, d) for n in (0, 1, 3, 10, 11, 12, 13) for r in (1, 2, 3, 4, 5)
         for d in (False, True)]


def _shares(n, replicas, shuffle, drop_last, seed=0, epoch=0):
    out = []
    for rank in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle,
                               seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        out.append(list(s))
        assert len(s) == len(out[-1])
    return out


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_unshuffled_indices_are_torchs(n, replicas, drop_last):
    if n == 0 and not drop_last:
        pytest.skip("torch divides by zero padding an empty dataset")
    for rank in range(replicas):
        t = TorchSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                         drop_last=drop_last)
        e = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                               drop_last=drop_last)
        assert list(e) == list(t)
        assert len(e) == len(t) and e.total_size == t.total_size


@pytest.mark.parametrize("n,replicas,drop_last", [c for c in CASES if c[0] > 0])
def test_shuffled_shares_partition_the_permutation(n, replicas, drop_last):
    shares = _shares(n, replicas, True, drop_last)
    t_lens = [len(TorchSampler(range(n), num_replicas=replicas, rank=r, drop_last=drop_last))
              for r in range(replicas)]
    assert [len(s) for s in shares] == t_lens
    # interleave the shares back into the padded permutation the ranks were cut from
    full = [shares[i % replicas][i // replicas] for i in range(len(shares[0]) * replicas)]
    if drop_last:
        assert len(set(full)) == len(full)  # disjoint, nothing repeated
        assert len(full) == n - n % replicas
    else:
        assert sorted(full[:n]) == list(range(n))  # a permutation of the whole dataset ...
        pad = len(full) - n
        wrapped = (full[:n] * (pad // n + 1))[:pad]
        assert full[n:] == wrapped  # ... padded by wrapping around to its start


def test_shuffle_is_deterministic_per_epoch_and_differs_across_epochs():
    a = _shares(50, 3, True, False, seed=7, epoch=2)
    assert a == _shares(50, 3, True, False, seed=7, epoch=2)
    assert a != _shares(50, 3, True, False, seed=7, epoch=3)
    assert a != _shares(50, 3, True, False, seed=8, epoch=2)
    assert a[0] != sorted(a[0])  # actually shuffled


def test_shuffle_ignores_the_global_seed():
    """Every rank must draw the same permutation, whatever its own RNG state is."""
    ember.manual_seed(1)
    a = list(DistributedSampler(range(20), num_replicas=2, rank=0))
    ember.manual_seed(2)
    ember.rand(5)
    assert a == list(DistributedSampler(range(20), num_replicas=2, rank=0))


def test_errors_match_torch():
    for rank in (2, -1):
        with pytest.raises(ValueError) as t_err:
            TorchSampler(range(4), num_replicas=2, rank=rank)
        with pytest.raises(ValueError) as e_err:
            DistributedSampler(range(4), num_replicas=2, rank=rank)
        assert str(e_err.value) == str(t_err.value)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_exported_where_torch_has_it():
    from ember.utils import data

    assert data.DistributedSampler is DistributedSampler
    assert torch.utils.data.DistributedSampler is TorchSampler


def test_drives_a_dataloader():
    ds = TensorDataset(ember.arange(10))
    s = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].tolist() for b in DataLoader(ds, batch_size=2, sampler=s)]
    assert batches == [[1, 3], [5, 7], [9]]
