"""ember.utils.data against PyTorch: batching, collation, samplers, workers and their failures."""
import collections
import os
import signal
import time

import numpy as np
import pytest
import torch
from helpers import assert_close

import ember
from ember.utils import data as ed

Point = collections.namedtuple("Point", "x y")


def _same(e, t):
    if isinstance(t, torch.Tensor):
        assert_close(e, t)
    elif isinstance(t, dict):
        assert e.keys() == t.keys()
        for k in t:
            _same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)
    else:
        assert e == t


SAMPLES = [
    [1, 2, 3],
    [1.5, 2.5],
    [True, False],
    [np.arange(3), np.arange(3) + 1],
    [np.float32(1.0), np.float32(2.0)],
    ["a", "b"],
    [(1, 2.0), (3, 4.0)],
    [[1, 2], [3, 4]],
    [{"a": 1, "b": np.ones(2)}, {"a": 2, "b": np.zeros(2)}],
    [Point(1, 2.0), Point(3, 4.0)],
]


@pytest.mark.parametrize("batch", SAMPLES)
def test_default_collate_matches_torch(batch):
    from torch.utils.data import default_collate as tc

    _same(ed.default_collate(batch), tc(batch))


def test_collate_tensors_and_convert():
    from torch.utils.data import default_convert as tconv

    e = ed.default_collate([ember.ones(2, 3), ember.zeros(2, 3)])
    assert tuple(e.shape) == (2, 2, 3)
    _same(ed.default_convert({"a": np.ones(2), "b": [np.float64(1.0)]}),
          tconv({"a": np.ones(2), "b": [np.float64(1.0)]}))


def _batches(mod, **kw):
    ds = mod.utils.data.TensorDataset(mod.arange(10).float(), mod.arange(10))
    return [[t.numpy().tolist() for t in b] for b in mod.utils.data.DataLoader(ds, **kw)]


@pytest.mark.parametrize("kw", [{}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                {"batch_size": None}, {"batch_size": 4, "num_workers": 2}])
def test_sequential_batches_match_torch(kw):
    t_kw = {k: v for k, v in kw.items() if k != "num_workers"}
    assert _batches(ember, **kw) == _batches(torch, **t_kw)


def test_len_matches_torch():
    for kw in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": 20}):
        e = ed.DataLoader(ed.TensorDataset(ember.ones(10)), **kw)
        t = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(10)), **kw)
        assert len(e) == len(t)


def test_shuffle_is_a_permutation_and_seeded():
    def epoch(seed):
        ember.manual_seed(seed)
        return [int(i) for b in ed.DataLoader(ed.TensorDataset(ember.arange(20)), batch_size=5,
                                              shuffle=True) for i in b[0]]

    a, b, c = epoch(0), epoch(0), epoch(1)
    assert sorted(a) == list(range(20)) and a == b and a != c


def test_samplers():
    assert list(ed.SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert sorted(ed.RandomSampler(range(6))) == list(range(6))
    assert len(list(ed.RandomSampler(range(3), replacement=True, num_samples=7))) == 7
    assert sorted(ed.SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    w = list(ed.WeightedRandomSampler([0.0, 1.0, 0.0], 5))
    assert w == [1] * 5
    assert list(ed.BatchSampler(range(5), 2, False)) == list(
        torch.utils.data.BatchSampler(range(5), 2, False))
    assert len(ed.BatchSampler(range(5), 2, True)) == 2
    with pytest.raises(ValueError):
        ed.BatchSampler(range(5), 0, False)
    with pytest.raises(ValueError):
        ed.RandomSampler(range(3), num_samples=0)


def test_datasets_concat_subset_split():
    a = ed.TensorDataset(ember.arange(3))
    b = ed.TensorDataset(ember.arange(3, 5))
    cat = a + b
    assert len(cat) == 5 and cat[3][0].item() == 3 and cat[-1][0].item() == 4
    sub = ed.Subset(cat, [4, 0])
    assert [sub[i][0].item() for i in range(len(sub))] == [4, 0]
    assert sub[0][0].item() == 4 and len(sub) == 2
    parts = ed.random_split(range(10), [0.7, 0.3], generator=ember.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    with pytest.raises(ValueError):
        ed.random_split(range(10), [3, 3])


def test_argument_errors_match_torch():
    for kw in ({"num_workers": -1}, {"sampler": [0], "shuffle": True},
               {"batch_sampler": [[0]], "batch_size": 2}, {"persistent_workers": True},
               {"prefetch_factor": 2}, {"timeout": -1}):
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(range(3), **kw)
        with pytest.raises(ValueError):
            ed.DataLoader(range(3), **kw)


class Squares(ed.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == 7 and os.environ.get("EMBER_TEST_FAIL") == "raise":
            raise KeyError("bad sample 7")
        if i == 7 and os.environ.get("EMBER_TEST_FAIL") == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if i == 7 and os.environ.get("EMBER_TEST_FAIL") == "slow":
            time.sleep(30)
        info = ed.get_worker_info()
        return np.array([i * i, -1 if info is None else info.id])


def test_workers_give_the_same_batches():
    single = [b.numpy()[:, 0].tolist() for b in ed.DataLoader(Squares(), batch_size=5)]
    multi = [b.numpy()[:, 0].tolist()
             for b in ed.DataLoader(Squares(), batch_size=5, num_workers=3)]
    assert single == multi
    ids = {int(i) for b in ed.DataLoader(Squares(), batch_size=2, num_workers=2)
           for i in b.numpy()[:, 1]}
    assert ids == {0, 1}


def test_worker_exception_is_reraised(monkeypatch):
    monkeypatch.setenv("EMBER_TEST_FAIL", "raise")
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(ed.DataLoader(Squares(), batch_size=2, num_workers=2))


def test_dead_worker_is_reported(monkeypatch):
    monkeypatch.setenv("EMBER_TEST_FAIL", "die")
    start = time.time()
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(ed.DataLoader(Squares(), batch_size=2, num_workers=2))
    assert time.time() - start < 20


def test_timeout(monkeypatch):
    monkeypatch.setenv("EMBER_TEST_FAIL", "slow")
    with pytest.raises(RuntimeError, match="timed out after 1 seconds"):
        list(ed.DataLoader(Squares(), batch_size=2, num_workers=1, timeout=1))


class Stream(ed.IterableDataset):
    def __iter__(self):
        info = ed.get_worker_info()
        lo, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(lo, 10, step))

    def __len__(self):
        return 10


def test_iterable_dataset_with_sharding_workers():
    single = [int(v) for b in ed.DataLoader(Stream(), batch_size=3) for v in b]
    assert single == list(range(10))
    multi = sorted(int(v) for b in ed.DataLoader(Stream(), batch_size=3, num_workers=2)
                   for v in b)
    assert multi == list(range(10))


def test_persistent_workers_and_worker_init():
    loader = ed.DataLoader(Squares(), batch_size=4, num_workers=2, persistent_workers=True,
                           worker_init_fn=lambda wid: None)
    first = [b.numpy()[:, 0].tolist() for b in loader]
    second = [b.numpy()[:, 0].tolist() for b in loader]
    assert first == second and len(first) == 3
