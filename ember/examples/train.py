"""The main job: train a network with the seed chapter's loop on data that ships with ember.

Run: ``python -m ember.examples.train`` (the embedded 8x8 digits; a few seconds on two cores).
Options: ``--model mlp|cnn``, ``--dataset digits|fashion-mnist`` (Debian's
``dataset-fashion-mnist``), ``--optimizer sgd|adam``, ``--epochs``, ``--batch-size``, ``--lr``,
``--seed``, ``--workers``, ``--out FOLDER`` (checkpoint ``model.pt``, loadable by ``torch.load``,
and ``curves.png`` when matplotlib is installed).

``--distributed``: the same training, data-parallel over the processes of an MPI job
(``python -m ember.distributed.run --nproc-per-node 2 -m ember.examples.train --distributed`` or
``mpiexec -n 2 python -m ember.examples.train --distributed``): each rank trains a
DistributedDataParallel replica on its DistributedSampler share of every batch
(``--batch-size`` stays the global batch), evaluates its share of the test set, and only rank 0
prints, plots and saves.

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
from ember.utils.data import DataLoader, DistributedSampler, Subset


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


def evaluate(model: nn.Module, loader: DataLoader, distributed: bool = False) -> float:
    """Test accuracy; with ``distributed`` each rank counts its share and the counts are summed."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += (model(inputs).argmax(1) == labels).sum().item()
            total += labels.numel()
    model.train()
    if distributed:
        correct, total = _sum_over_ranks(correct, total)
    return correct / total


def _sum_over_ranks(*values: float) -> list[float]:
    import ember.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


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
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of an MPI job (see the module docstring)")
    args = p.parse_args(argv)

    rank, world = 0, 1
    if args.distributed:
        import ember.distributed as dist

        dist.init_process_group("mpi")
        rank, world = dist.get_rank(), dist.get_world_size()
        if args.batch_size % world:
            raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the "
                             f"{world} ranks (it is the global batch)")
    lead = rank == 0

    torch.manual_seed(args.seed)
    transform = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    dataset = Digits if args.dataset == "digits" else FashionMNIST
    train_set, test_set = dataset(train=True, transform=transform), dataset(train=False,
                                                                           transform=transform)
    size = train_set.data.shape[-1]
    sampler = None
    if args.distributed:
        sampler = DistributedSampler(train_set, seed=args.seed)
        test_set = Subset(test_set, range(rank, len(test_set), world))
    train = DataLoader(train_set, batch_size=args.batch_size // world, shuffle=sampler is None,
                       sampler=sampler, num_workers=args.workers)
    test = DataLoader(test_set, batch_size=256)
    target = args.target if args.target is not None else (
        0.97 if args.dataset == "digits" else 0.85)

    net = Net(size * size) if args.model == "mlp" else ConvNet(size)
    model = nn.parallel.DistributedDataParallel(net) if args.distributed else net
    criterion = nn.NLLLoss()
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr or 0.05, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr or 1e-3)
    history = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        running_loss = 0.0
        batches = _progress(train, f"epoch {epoch + 1}/{args.epochs}") if lead else train
        for inputs, labels in batches:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        if args.distributed:
            (running_loss,) = _sum_over_ranks(running_loss / world)
        acc = evaluate(net, test, args.distributed)
        history.append((running_loss / len(train), acc))
        if lead:
            print(f"Epoch {epoch + 1}/{args.epochs}, Loss: {history[-1][0]:.4f}, "
                  f"test accuracy: {acc:.3f}")
    if lead:
        on = f" on {world} processes" if args.distributed else ""
        print(f"trained in {time.perf_counter() - start:.1f} s{on}; test accuracy {acc:.3f} "
              f"(target {target})")
    if args.out and lead:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), out / "model.pt")
        print(f"saved the model's state_dict to {out / 'model.pt'} (loads with torch.load)")
        _plot(history, out / "curves.png")
    if args.distributed:
        dist.destroy_process_group()
    if acc < target and lead:  # one verdict: a launcher aborts the job at a rank's failure
        raise SystemExit(f"test accuracy {acc:.3f} is below the target {target}")
    return acc


if __name__ == "__main__":
    main()
