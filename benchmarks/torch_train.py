"""``ember.examples.train`` written for PyTorch, for the demo benchmark (same data, same loop).

The digits are read from ember's data file with NumPy (torchvision is not needed): the same
images, split, transform (ToTensor then Normalize(0.5, 0.5)) and per-sample Dataset.
"""
from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

DIGITS = Path(__file__).resolve().parent.parent / "ember" / "datasets" / "data" / "digits.csv.gz"
N_TRAIN = 1437


class Digits(Dataset):
    def __init__(self, train: bool) -> None:
        with gzip.open(DIGITS, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64)
        part = slice(None, N_TRAIN) if train else slice(N_TRAIN, None)
        self.images = np.minimum(table[part, :-1].reshape(-1, 8, 8) * 16, 255).astype(np.uint8)
        self.labels = table[part, -1]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = torch.from_numpy(self.images[i][None].astype(np.float32) / 255.0)
        return (img - 0.5) / 0.5, int(self.labels[i])


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        return nn.functional.log_softmax(self.fc2(x), dim=1)


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += (model(inputs).argmax(1) == labels).sum().item()
            total += labels.numel()
    model.train()
    return correct / total


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", type=float, default=0.9)
    args = p.parse_args(argv)

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))  # as the suite's workers
    torch.manual_seed(args.seed)
    train = DataLoader(Digits(train=True), batch_size=args.batch_size, shuffle=True)
    test = DataLoader(Digits(train=False), batch_size=256)
    net = Net()
    criterion = nn.NLLLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        running_loss = 0.0
        for inputs, labels in train:
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        acc = evaluate(net, test)
        print(f"Epoch {epoch + 1}/{args.epochs}, Loss: {running_loss / len(train):.4f}, "
              f"test accuracy: {acc:.3f}")
    print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy {acc:.3f}")
    if acc < args.target:
        raise SystemExit(f"test accuracy {acc:.3f} is below the target {args.target}")
    return acc


if __name__ == "__main__":
    main()
