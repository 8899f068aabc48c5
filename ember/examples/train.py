"""The main job: train a network with the seed chapter's loop on data that ships with ember.

Run: ``python -m ember.examples.train`` (the embedded 8x8 digits; a few seconds on two cores).
Options: ``--model mlp|cnn``, ``--dataset digits|fashion-mnist`` (Debian's
``dataset-fashion-mnist``), ``--optimizer sgd|adam``, ``--epochs``, ``--batch-size``, ``--lr``,
``--seed``, ``--workers``, ``--out FOLDER`` (checkpoint ``model.pt``, loadable by ``torch.load``,
and ``curves.png`` when matplotlib is installed).

It is the PyTorch training loop of the seed chapter, unchanged but for the import: a model,
a loss, an optimizer and a DataLoader, then ``zero_grad / forward / backward / step``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import ember as torch
from ember import nn
from ember.datasets import Digits, FashionMNIST
from ember.transforms import Compose, Normalize, ToTensor
from ember.utils.data import DataLoader


class Net(nn.Module):
    """The seed chapter's MLP: flatten, Linear, ReLU, Linear, log_softmax."""

    def __init__(self, in_features: int = 64) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        return nn.functional.log_softmax(self.fc2(x), dim=1)


class ConvNet(nn.Module):
    """Two conv/ReLU/max-pool stages and a linear classifier (any square input size)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.fc = nn.Linear(32 * (size // 4) ** 2, 10)

    def forward(self, x):
        return nn.functional.log_softmax(self.fc(torch.flatten(self.features(x), 1)), dim=1)


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += (model(inputs).argmax(1) == labels).sum().item()
            total += labels.numel()
    model.train()
    return correct / total


def _progress(loader, desc: str):
    """A tqdm progress bar when tqdm is installed, else the plain loader."""
    try:
        from tqdm import tqdm
    except ImportError:
        return loader
    return tqdm(loader, desc=desc, leave=False, unit="batch")


def _plot(history: list[tuple[float, float]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no curves.png: install matplotlib (pip install 'ember[demo]') to get the plot")
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history) + 1)
    ax[0].plot(epochs, [h[0] for h in history], marker="o")
    ax[0].set(title="train loss", xlabel="epoch")
    ax[1].plot(epochs, [h[1] for h in history], marker="o", color="tab:green")
    ax[1].set(title="test accuracy", xlabel="epoch")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"saved the loss and accuracy curves to {path}")


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None, help="default: 0.05 for sgd, 1e-3 for adam")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for model.pt and curves.png")
    p.add_argument("--target", type=float, default=None,
                   help="test accuracy to reach (default 0.97 on digits, 0.85 on fashion-mnist)")
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    transform = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    dataset = Digits if args.dataset == "digits" else FashionMNIST
    train_set, test_set = dataset(train=True, transform=transform), dataset(train=False,
                                                                           transform=transform)
    size = train_set.data.shape[-1]
    train = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                       num_workers=args.workers)
    test = DataLoader(test_set, batch_size=256)
    target = args.target if args.target is not None else (
        0.97 if args.dataset == "digits" else 0.85)

    net = Net(size * size) if args.model == "mlp" else ConvNet(size)
    criterion = nn.NLLLoss()
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(net.parameters(), lr=args.lr or 0.05, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(net.parameters(), lr=args.lr or 1e-3)
    history = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        running_loss = 0.0
        for inputs, labels in _progress(train, f"epoch {epoch + 1}/{args.epochs}"):
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        acc = evaluate(net, test)
        history.append((running_loss / len(train), acc))
        print(f"Epoch {epoch + 1}/{args.epochs}, Loss: {history[-1][0]:.4f}, "
              f"test accuracy: {acc:.3f}")
    print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy {acc:.3f} "
          f"(target {target})")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), out / "model.pt")
        print(f"saved the model's state_dict to {out / 'model.pt'} (loads with torch.load)")
        _plot(history, out / "curves.png")
    if acc < target:
        raise SystemExit(f"test accuracy {acc:.3f} is below the target {target}")
    return acc


if __name__ == "__main__":
    main()
