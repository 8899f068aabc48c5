"""The seed chapter's MLP on real Fashion-MNIST: ember reaches PyTorch's accuracy.

Needs Debian's `dataset-fashion-mnist` (installed by .ci/run); skips with a reason otherwise.
"""
import os

import numpy as np
import pytest
import torch

import ember
from ember.datasets import FashionMNIST

ROOT = "/usr/share/datasets/fashion-mnist"
pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(ROOT, "train-images-idx3-ubyte.gz")),
    reason="Fashion-MNIST files absent: apt-get install dataset-fashion-mnist",
)


def _arrays(train: bool):
    ds = FashionMNIST(train=train)
    x = (ds.data.numpy().astype(np.float32) / 255.0 - 0.5) / 0.5
    return x[:, None], ds.targets.numpy()


def _train_and_test(t, init, xtr, ytr, xte, yte, epochs=3):
    net = t.nn.Sequential(t.nn.Flatten(), t.nn.Linear(784, 128), t.nn.ReLU(),
                          t.nn.Linear(128, 10), t.nn.LogSoftmax(dim=1))
    net.load_state_dict({k: t.from_numpy(v.copy()) for k, v in init.items()})
    criterion = t.nn.NLLLoss()
    optimizer = t.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loader = t.utils.data.DataLoader(
        t.utils.data.TensorDataset(t.from_numpy(xtr), t.from_numpy(ytr)), batch_size=64)
    for _ in range(epochs):
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
    with t.no_grad():
        pred = net(t.from_numpy(xte)).argmax(1).numpy()
    return float((pred == yte).mean())


def test_seed_mlp_matches_torch_accuracy():
    xtr, ytr = _arrays(True)
    xte, yte = _arrays(False)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    ref = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    init = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    ours = _train_and_test(ember, init, xtr, ytr, xte, yte)
    theirs = _train_and_test(torch, init, xtr, ytr, xte, yte)
    assert ours >= 0.85 and theirs >= 0.85, (ours, theirs)
    assert abs(ours - theirs) <= 0.01, (ours, theirs)
