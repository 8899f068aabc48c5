"""The main job: train a small network on the handwritten digits that ship with ember.

Run: ``python -m ember.examples.train`` (no download; about ten seconds on two cores).

It is the PyTorch training loop of the seed chapter, unchanged but for the import: a model,
a loss, an optimizer and a DataLoader, then ``zero_grad / forward / backward / step``.
"""
from __future__ import annotations

import argparse
import time

import ember as torch
from ember import nn
from ember.datasets import Digits
from ember.transforms import Compose, Normalize, ToTensor
from ember.utils.data import DataLoader


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
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="write the trained state_dict here (torch format)")
    p.add_argument("--target", type=float, default=0.97, help="test accuracy to reach")
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    transform = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    train = DataLoader(Digits(train=True, transform=transform), batch_size=args.batch_size,
                       shuffle=True, num_workers=args.workers)
    test = DataLoader(Digits(train=False, transform=transform), batch_size=256)

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
    print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy {acc:.3f} "
          f"(target {args.target})")
    if args.save:
        torch.save(net.state_dict(), args.save)
        print(f"saved the model's state_dict to {args.save} (loads with torch.load)")
    if acc < args.target:
        raise SystemExit(f"test accuracy {acc:.3f} is below the target {args.target}")
    return acc


if __name__ == "__main__":
    main()
