"""Step workloads, each written once in PyTorch-API code against the module ``t`` (ember or torch).

A workload is one function ``f(t) -> step`` registered with ``@workload``: it builds the model
and the inputs (from the same NumPy arrays for both frameworks) and returns a no-argument
callable that does one iteration.  It raises ``Skip`` when ember lacks a layer it needs, so a
workload can be added before the layer exists (resnet, lstm, transformer, ...).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class Skip(Exception):
    """The workload cannot run with this framework yet; the message says why."""


@dataclass(frozen=True)
class Workload:
    name: str
    build: Callable
    iters: int
    quick_iters: int
    doc: str


WORKLOADS: dict[str, Workload] = {}


def workload(name: str, iters: int, quick_iters: int = 3):
    """Register ``f(t) -> step`` under ``name``; ``iters`` timed iterations (``--quick``: fewer)."""
    def register(build: Callable) -> Callable:
        doc = (build.__doc__ or "").strip().splitlines()[0]
        WORKLOADS[name] = Workload(name, build, iters, quick_iters, doc)
        return build
    return register


def need(t, *names: str) -> None:
    """Raise Skip unless every dotted name (e.g. ``nn.functional.max_pool2d``) exists in ``t``."""
    for dotted in names:
        obj = t
        for part in dotted.split("."):
            if not hasattr(obj, part):
                raise Skip(f"{t.__name__}.{dotted} does not exist yet")
            obj = getattr(obj, part)


def _inputs(t, shape: tuple[int, ...], classes: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, classes, shape[0])
    return t.tensor(x), t.tensor(y)


def _train_step(t, model, x, y) -> Callable[[], None]:
    F = t.nn.functional
    opt = t.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        opt.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
        loss.backward()
        opt.step()
    return step


def lenet(t):
    """LeNet-5 for 1x28x28 inputs (padding 2 on the first convolution)."""
    need(t, "nn.Conv2d", "nn.Linear", "nn.functional.max_pool2d")
    nn, F = t.nn, t.nn.functional

    class LeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = t.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    t.manual_seed(0)
    return LeNet()


@workload("mlp_train", iters=200, quick_iters=5)
def mlp_train(t):
    """MLP 784-128-10 (ReLU), log_softmax + NLL, batch 64, one SGD(momentum=0.9) step."""
    nn = t.nn
    t.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    x, y = _inputs(t, (64, 784))
    return _train_step(t, model, x, y)


@workload("cnn_train", iters=40, quick_iters=3)
def cnn_train(t):
    """LeNet-5 on a 64x1x28x28 batch: forward, NLL, backward, SGD(momentum=0.9) step."""
    model = lenet(t)
    x, y = _inputs(t, (64, 1, 28, 28))
    return _train_step(t, model, x, y)


@workload("inference", iters=40, quick_iters=3)
def inference(t):
    """LeNet-5 forward in eval mode under no_grad, batch 256."""
    model = lenet(t).eval()
    x, _ = _inputs(t, (256, 1, 28, 28))

    def step() -> None:
        with t.no_grad():
            model(x)
    return step


@workload("op_overhead", iters=3000, quick_iters=50)
def op_overhead(t):
    """Per-op cost on shape-(4,) tensors: ((a*b + a).sum()).backward()."""
    rng = np.random.default_rng(0)
    a = t.tensor(rng.standard_normal(4), requires_grad=True)
    b = t.tensor(rng.standard_normal(4), requires_grad=True)

    def step() -> None:
        a.grad = b.grad = None
        ((a * b + a).sum()).backward()
    return step
