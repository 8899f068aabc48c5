"""MNIST/FashionMNIST readers: synthetic IDX files written here and read back exactly."""
import gzip
import re
from pathlib import Path

import numpy as np
import pytest

import ember
from ember import transforms as T
from ember.datasets import MNIST, FashionMNIST
from ember.datasets.mnist import read_idx

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(d.to_bytes(4, "big") for d in a.shape)
    return header + a.astype(np.uint8).tobytes()


def write_split(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray,
                gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        name = folder / f"{prefix}-{kind}-ubyte"
        if gz:
            with gzip.open(f"{name}.gz", "wb") as f:
                f.write(idx_bytes(arr))
        else:
            name.write_bytes(idx_bytes(arr))


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_reads_both_splits_exactly(tmp_path, gz, layout):
    folder = tmp_path if layout == "flat" else tmp_path / "MNIST" / "raw"
    train_x, train_y = synthetic(7, 0)
    test_x, test_y = synthetic(3, 1)
    write_split(folder, "train", train_x, train_y, gz)
    write_split(folder, "t10k", test_x, test_y, gz)
    for train, (x, y) in ((True, (train_x, train_y)), (False, (test_x, test_y))):
        ds = MNIST(str(tmp_path), train=train)
        assert len(ds) == len(y)
        assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (len(y), 28, 28)
        assert ds.targets.dtype == ember.int64
        np.testing.assert_array_equal(ds.data.numpy(), x)
        np.testing.assert_array_equal(ds.targets.numpy(), y.astype(np.int64))
        img, target = ds[1]
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
        assert type(target) is int and target == y[1]
        np.testing.assert_array_equal(img, x[1])


def test_transforms_loader_and_repr(tmp_path):
    x, y = synthetic(5, 2)
    write_split(tmp_path / "FashionMNIST" / "raw", "t10k", x, y, gz=True)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    ds = FashionMNIST(tmp_path, train=False, transform=tf, target_transform=lambda c: c + 10)
    img, target = ds[0]
    assert tuple(img.shape) == (1, 28, 28) and img.dtype == ember.float32
    np.testing.assert_allclose(img.numpy()[0], (x[0] / 255.0 - 0.5) / 0.5, rtol=1e-6, atol=1e-6)
    assert target == y[0] + 10
    xb, yb = next(iter(ember.utils.data.DataLoader(ds, batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.dtype == ember.int64
    assert repr(ds).splitlines()[:5] == [
        "Dataset FashionMNIST", "    Number of datapoints: 5", f"    Root location: {tmp_path}",
        "    Split: Test", "    StandardTransform"]
    assert repr(ds).splitlines()[5:7] == ["Transform: Compose(", "               ToTensor()"]
    assert ds.raw_folder == str(tmp_path / "FashionMNIST" / "raw")


def test_classes_as_torchvision():
    assert MNIST.classes[0] == "0 - zero" and MNIST.classes[9] == "9 - nine"
    assert FashionMNIST.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert len(MNIST.classes) == 10


def test_missing_files_say_where(tmp_path):
    with pytest.raises(RuntimeError, match=r"train-images-idx3-ubyte.*not found.*MNIST/raw"):
        MNIST(tmp_path)
    with pytest.raises(RuntimeError, match="never downloads"):
        MNIST(tmp_path, download=True)
    with pytest.raises(RuntimeError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST(tmp_path)
    with pytest.raises(TypeError, match="root=None"):
        MNIST(None)


def test_download_true_accepts_files_already_there(tmp_path):
    write_split(tmp_path, "t10k", *synthetic(2, 3), gz=False)
    assert len(MNIST(tmp_path, train=False, download=True)) == 2


def test_corrupt_files(tmp_path):
    x, y = synthetic(4, 4)
    good = idx_bytes(x)
    cases = {
        "truncated": good[:-1],
        "trailing": good + b"\0",
        "short": b"\0\0",
        "bad_magic": b"\x12\x34" + good[2:],
        "int32_type": bytes([0, 0, 0x0C, 3]) + good[4:],
        "header_cut": good[:9],
    }
    for name, blob in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        with pytest.raises(RuntimeError, match=re.escape(str(p))):
            read_idx(p)
    labels = tmp_path / "labels"
    labels.write_bytes(idx_bytes(y))
    with pytest.raises(RuntimeError, match="expected 0x00000803"):
        read_idx(labels, 0x803)
    notgz = tmp_path / "x.gz"
    notgz.write_bytes(good)
    with pytest.raises(RuntimeError, match="cannot read"):
        read_idx(notgz)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), y)


def test_count_mismatch(tmp_path):
    x, y = synthetic(4, 5)
    write_split(tmp_path, "train", x, y[:3], gz=False)
    with pytest.raises(RuntimeError, match="expected N images"):
        MNIST(tmp_path)


@pytest.mark.skipif(not (DEBIAN / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="Debian package dataset-fashion-mnist is not installed "
                           "(apt-get install dataset-fashion-mnist)")
def test_debian_fashion_mnist():
    test = FashionMNIST(train=False)
    assert len(test) == 10000 and tuple(test.data.shape) == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(test.targets.numpy()), np.full(10, 1000))
    train = FashionMNIST()
    assert len(train) == 60000
    # the published first training labels: ankle boot, T-shirt, T-shirt, dress, T-shirt
    assert train.targets[:5].tolist() == [9, 0, 0, 3, 0]
