"""The embedded Digits dataset and the transforms, checked against their definitions/PyTorch."""
import numpy as np
import pytest
import torch

import ember
from ember import transforms as T
from ember.datasets import Digits


def test_digits_split_and_content():
    train, test = Digits(train=True), Digits(train=False)
    assert len(train) == 1437 and len(test) == 360
    img, target = train[0]
    assert img.shape == (8, 8) and img.dtype == np.uint8 and 0 <= target <= 9
    assert img.max() <= 255 and train.data.shape == (1437, 8, 8)
    assert train.targets.dtype == ember.int64
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert counts.min() >= 25  # every digit is in the test split
    both = np.concatenate([train.data.numpy(), test.data.numpy()]).reshape(1797, -1)
    assert len(np.unique(both, axis=0)) >= 1790  # the splits partition the file
    assert set(np.unique(train.targets.numpy())) == set(range(10))


def test_digits_with_transforms_and_loader():
    ds = Digits(transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]),
                target_transform=lambda y: y + 100)
    x, y = ds[3]
    assert tuple(x.shape) == (1, 8, 8) and x.dtype == ember.float32 and y >= 100
    assert -1.0 <= x.min().item() and x.max().item() <= 1.0
    xb, yb = next(iter(ember.utils.data.DataLoader(ds, batch_size=16)))
    assert tuple(xb.shape) == (16, 1, 8, 8) and yb.dtype == ember.int64


def test_to_tensor():
    a = (np.arange(24).reshape(2, 4, 3) * 10).astype(np.uint8)
    t = T.ToTensor()(a)
    assert tuple(t.shape) == (3, 2, 4) and t.dtype == ember.float32
    np.testing.assert_allclose(t.numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    f = T.ToTensor()(np.ones((2, 2), dtype=np.float64))
    assert f.dtype == ember.float64 and tuple(f.shape) == (1, 2, 2)


def test_normalize_matches_formula():
    x = ember.rand(3, 4, 4)
    out = T.Normalize([0.1, 0.2, 0.3], [0.5, 0.6, 0.7])(x)
    ref = (x.numpy() - np.array([0.1, 0.2, 0.3])[:, None, None]) / np.array([0.5, 0.6, 0.7])[:, None, None]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        T.Normalize([0.0], [0.0])(x)


@pytest.mark.parametrize("size", [(4, 6), (12, 5), 5])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_resize_matches_interpolate(size, mode):
    x = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    out = T.Resize(size, mode)(ember.from_numpy(x))
    target = (size, size) if isinstance(size, int) else size
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=target, mode=mode,
                                          **({"align_corners": False} if mode == "bilinear" else {}))[0]
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_random_crop_and_flip_are_seeded():
    img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    ember.manual_seed(0)
    a = T.RandomCrop(5, padding=2)(img)
    ember.manual_seed(0)
    b = T.RandomCrop(5, padding=2)(img)
    assert a.shape == (5, 5) and np.array_equal(a, b)
    flips = [T.RandomHorizontalFlip(0.5)(img)[0, 0] for _ in range(50)]
    assert {int(v) for v in flips} == {0, 7}
    with pytest.raises(ValueError):
        T.RandomCrop(9)(img)
    t = T.RandomHorizontalFlip(1.0)(ember.from_numpy(img.copy()))
    assert t[0, 0].item() == 7
