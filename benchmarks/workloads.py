"""Step workloads, each written once in PyTorch-API code against the module ``t`` (ember or torch).

A workload is one function ``f(t) -> step`` registered with ``@workload``: it builds the model,
sets every parameter and input from the same seeded NumPy arrays (so both frameworks compute
the same numbers: the runner compares the first step's loss) and returns a no-argument callable
that does one iteration and returns its loss (or output).  It raises ``Skip`` when ``t`` lacks
a layer it needs.  This module imports only NumPy: each framework runs in its own process.
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
    doc: str
    training: bool
    frameworks: tuple[str, ...]


WORKLOADS: dict[str, Workload] = {}


def workload(name: str, training: bool = True,
             frameworks: tuple[str, ...] = ("ember", "torch")):
    """Register ``f(t) -> step`` under ``name``; ``training`` workloads get a peak-memory ratio."""
    def register(build: Callable) -> Callable:
        doc = (build.__doc__ or "").strip().splitlines()[0]
        WORKLOADS[name] = Workload(name, build, doc, training, frameworks)
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


def _numpy_init(t, model, seed: int = 1):
    """Set every parameter from one seeded NumPy stream, in ``parameters()`` order.

    Matrices and kernels get U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as the default inits roughly
    do; vectors that start constant (norm layers' weight and bias) keep their value, other
    vectors (biases) get U(-0.1, 0.1).  Both frameworks register parameters in the same order.
    """
    rng = np.random.default_rng(seed)
    with t.no_grad():
        for p in model.parameters():
            shape = tuple(p.shape)
            if len(shape) >= 2:
                bound = 1.0 / np.sqrt(np.prod(shape[1:]))
            elif np.all(p.detach().numpy() == p.detach().numpy().flat[0]):
                continue
            else:
                bound = 0.1
            p.copy_(t.tensor(rng.uniform(-bound, bound, shape).astype(np.float32)))
    return model


def _train_step(t, model, x, y, opt=None) -> Callable[[], object]:
    F = t.nn.functional
    opt = opt or t.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
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

    return _numpy_init(t, LeNet())


@workload("mlp_train")
def mlp_train(t):
    """MLP 784-128-10 (ReLU), log_softmax + NLL, batch 64, one SGD(momentum=0.9) step."""
    nn, F = t.nn, t.nn.functional
    model = _numpy_init(t, nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)))
    x, y = _inputs(t, (64, 784))
    opt = t.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
        loss.backward()
        opt.step()
        return loss
    return step


@workload("cnn_train")
def cnn_train(t):
    """LeNet-5 on a 64x1x28x28 batch: forward, cross entropy, backward, SGD(momentum=0.9) step."""
    model = lenet(t)
    x, y = _inputs(t, (64, 1, 28, 28))
    return _train_step(t, model, x, y)


@workload("resnet_block_train")
def resnet_block_train(t):
    """Two ResNet basic blocks (64 channels, BatchNorm) on 32x64x16x16, global average pool,
    Linear 64-10, cross entropy, SGD(momentum=0.9) step."""
    need(t, "nn.Conv2d", "nn.BatchNorm2d", "nn.AdaptiveAvgPool2d")
    nn, F = t.nn, t.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + x)

    model = _numpy_init(t, nn.Sequential(BasicBlock(64), BasicBlock(64), nn.AdaptiveAvgPool2d(1),
                                         nn.Flatten(), nn.Linear(64, 10)))
    x, y = _inputs(t, (32, 64, 16, 16))
    return _train_step(t, model, x, y)


@workload("lstm_train")
def lstm_train(t):
    """1-layer LSTM (input 64, hidden 128) on seq 32 x batch 32, Linear head to 64 classes,
    cross entropy at every step, Adam step."""
    need(t, "nn.LSTM", "optim.Adam")
    nn, F = t.nn, t.nn.functional

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(64, 128)
            self.head = nn.Linear(128, 64)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out)

    model = _numpy_init(t, Tagger())
    rng = np.random.default_rng(0)
    x = t.tensor(rng.standard_normal((32, 32, 64), dtype=np.float32))
    y = t.tensor(rng.integers(0, 64, (32 * 32,)))
    opt = t.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, 64), y)
        loss.backward()
        opt.step()
        return loss
    return step


@workload("transformer_train")
def transformer_train(t):
    """2-layer decoder-only transformer (d_model 128, 4 heads, FFN 512, pre-LayerNorm, GELU,
    no dropout), vocab 256, seq 64, batch 16, causal mask, next-token cross entropy, AdamW step."""
    need(t, "nn.TransformerEncoderLayer", "nn.Embedding", "optim.AdamW")
    nn, F = t.nn, t.nn.functional
    vocab, d, seq, batch = 256, 128, 64, 16

    class DecoderOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(seq, d)
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(d, 4, 512, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
                for _ in range(2))
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx, mask):
            x = self.tok(idx) + self.pos(t.arange(idx.shape[1]))
            for layer in self.layers:
                x = layer(x, src_mask=mask, is_causal=True)
            return self.head(self.norm(x))

    model = _numpy_init(t, DecoderOnly())
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, vocab, (batch, seq + 1))
    idx, y = t.tensor(tokens[:, :-1]), t.tensor(tokens[:, 1:].reshape(-1))
    mask = t.triu(t.full((seq, seq), float("-inf")), diagonal=1)
    opt = t.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(idx, mask).reshape(-1, vocab), y)
        loss.backward()
        opt.step()
        return loss
    return step


@workload("inference", training=False)
def inference(t):
    """LeNet-5 forward in eval mode under no_grad, batch 256."""
    model = lenet(t).eval()
    x, _ = _inputs(t, (256, 1, 28, 28))

    def step():
        with t.no_grad():
            return model(x).sum()
    return step


def _matmul(n: int):
    def build(t):
        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        if t is not np:
            a, b = t.tensor(a), t.tensor(b)
        return lambda: a @ b
    build.__doc__ = f"float32 {n}x{n} @ {n}x{n} (ember, torch and NumPy itself)"
    return build


for _n in (1024, 2048):
    workload(f"matmul_{_n}", training=False, frameworks=("ember", "torch", "numpy"))(_matmul(_n))


@workload("op_overhead", training=False)
def op_overhead(t):
    """Per-op cost on shape-(4,) tensors: ((a*b + a).sum()).backward()."""
    rng = np.random.default_rng(0)
    a = t.tensor(rng.standard_normal(4), requires_grad=True)
    b = t.tensor(rng.standard_normal(4), requires_grad=True)

    def step():
        a.grad = b.grad = None
        loss = (a * b + a).sum()
        loss.backward()
        return loss
    return step
