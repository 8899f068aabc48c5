"""Whole models built from the same code with ember and torch must agree end to end.

Each model is written once as a function of the framework module ``t``; the torch weights are
loaded into the ember model, then outputs, input grads, parameter grads and BatchNorm buffers are
compared in train and eval mode.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

TOL = {np.float32: (1e-4, 1e-5), np.float64: (1e-9, 1e-9)}


def _net(t):
    class Net(t.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.flatten = t.nn.Flatten()
            self.fc1 = t.nn.Linear(784, 128)
            self.fc2 = t.nn.Linear(128, 10)

        def forward(self, x):
            x = t.relu(self.fc1(self.flatten(x)))
            return t.nn.functional.log_softmax(self.fc2(x), dim=1)

    return Net()


def _lenet(t):
    nn = t.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10), nn.LogSoftmax(dim=1))


def _resnet_pair(t):
    nn = t.nn

    class BasicBlock(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + x)

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(BasicBlock(64), BasicBlock(64))
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.blocks(x).mean(dim=(2, 3))
            return t.nn.functional.log_softmax(self.fc(x), dim=1)

    return Head()


def _tagger(t):
    nn = t.nn

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.lstm = nn.LSTM(16, 32, num_layers=2, bidirectional=True, batch_first=True)
            self.out = nn.Linear(64, 5)

        def forward(self, tokens):
            h, _ = self.lstm(self.emb(tokens))
            return t.nn.functional.log_softmax(self.out(h), dim=-1).reshape(-1, 5)

    return Tagger()


def _encoder(t):
    nn = t.nn

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
                                               dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2)
            self.head = nn.Linear(32, 7)

        def forward(self, x):
            return t.nn.functional.log_softmax(self.head(self.encoder(x)), dim=-1).reshape(-1, 7)

    return Encoder()


rng = np.random.default_rng(0)
# name -> (builder, input array, nll_loss targets)
CASES = {
    "net": (_net, rng.standard_normal((4, 1, 28, 28)), rng.integers(0, 10, 4)),
    "lenet": (_lenet, rng.standard_normal((3, 1, 28, 28)), rng.integers(0, 10, 3)),
    "resnet": (_resnet_pair, rng.standard_normal((2, 64, 8, 8)), rng.integers(0, 10, 2)),
    "tagger": (_tagger, rng.integers(0, 50, (3, 6)), rng.integers(0, 5, 18)),
    "encoder": (_encoder, rng.standard_normal((2, 5, 32)), rng.integers(0, 7, 10)),
}


def _build(name: str):
    builder = CASES[name][0]
    torch.manual_seed(0)
    tm = builder(torch)
    em = builder(ember)
    assert repr(em) == repr(tm)
    assert list(em.state_dict().keys()) == list(tm.state_dict().keys())
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return em, tm


def _close(e, r, dtype, what: str) -> None:
    rtol, atol = TOL[dtype]
    assert str(e.dtype) == str(r.dtype), what
    np.testing.assert_allclose(e.detach().numpy(), r.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=what)


def _step(mod, model, x_np, y_np, dtype):
    if x_np.dtype.kind == "f":
        x = mod.from_numpy(x_np.astype(dtype)).requires_grad_(True)
    else:
        x = mod.from_numpy(x_np.copy())
    out = model(x)
    loss = mod.nn.functional.nll_loss(out, mod.from_numpy(y_np.copy()))
    loss.backward()
    return out, loss, x


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,dtype", [(n, np.float32) for n in CASES]
                         + [("lenet", np.float64), ("resnet", np.float64)])
def test_model_matches_torch(name: str, dtype, train: bool) -> None:
    em, tm = _build(name)
    if dtype == np.float64:
        em, tm = em.double(), tm.double()
    em.train(train)
    tm.train(train)
    _, x_np, y_np = CASES[name]
    e_out, e_loss, e_x = _step(ember, em, x_np, y_np, dtype)
    t_out, t_loss, t_x = _step(torch, tm, x_np, y_np, dtype)
    _close(e_out, t_out, dtype, "output")
    _close(e_loss, t_loss, dtype, "loss")
    if x_np.dtype.kind == "f":
        _close(e_x.grad, t_x.grad, dtype, "input grad")
    e_params = dict(em.named_parameters())
    t_params = dict(tm.named_parameters())
    assert list(e_params) == list(t_params)
    for k, p in t_params.items():
        assert (e_params[k].grad is None) == (p.grad is None), k
        if p.grad is not None:
            _close(e_params[k].grad, p.grad, dtype, f"grad of {k}")
    e_bufs = dict(em.named_buffers())
    for k, b in tm.named_buffers():
        if b.dtype.is_floating_point:
            _close(e_bufs[k], b, dtype, f"buffer {k}")
        else:
            np.testing.assert_array_equal(e_bufs[k].numpy(), b.numpy(), err_msg=k)


def test_resnet_running_stats_after_train_then_eval() -> None:
    """A train step updates BatchNorm buffers; eval must then use them identically."""
    em, tm = _build("resnet")
    _, x_np, y_np = CASES["resnet"]
    _step(ember, em, x_np, y_np, np.float32)
    _step(torch, tm, x_np, y_np, np.float32)
    e_bufs = dict(em.named_buffers())
    for k, b in tm.named_buffers():
        if k.endswith("running_mean"):
            assert np.abs(b.numpy()).max() > 0, f"{k}: the train step did not update it"
        if b.dtype.is_floating_point:
            _close(e_bufs[k], b, np.float32, f"buffer {k}")
        else:
            np.testing.assert_array_equal(e_bufs[k].numpy(), b.numpy(), err_msg=k)
    em.eval()
    tm.eval()
    x2 = np.random.default_rng(1).standard_normal((2, 64, 8, 8))
    e_out, _, e_x = _step(ember, em, x2, y_np, np.float32)
    t_out, _, t_x = _step(torch, tm, x2, y_np, np.float32)
    _close(e_out, t_out, np.float32, "eval output")
    _close(e_x.grad, t_x.grad, np.float32, "eval input grad")
