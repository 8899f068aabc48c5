"""The seed chapter's nn/optim/training code blocks behave under ember as under PyTorch.

Each block is copied verbatim from the seeds and run once with ``torch`` bound to ember and once
to PyTorch; printed output and any exception must agree.  Random initialisation and
``torch.randn`` draw from different generators in the two frameworks, so while a block runs both
frameworks' ``nn.Linear.reset_parameters`` and ``randn`` are replaced by the same NumPy-seeded
draws (keyed by call order and shape), which makes the numbers comparable.  Blocks that need data
they do not define (``trainloader``) also run completed with a small fixed DataLoader.
"""
import builtins
import contextlib
import io
import math
import re

import numpy as np
import pytest
import torch

import ember

NET_TRAINLOADER = '''import torch
import torch.nn as nn
import torch.optim as optim

# 定义一个简单的神经网络
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = torch.relu(x)
        x = self.fc2(x)
        output = nn.log_softmax(x, dim=1)
        return output

# 创建一个神经网络实例
net = Net()

# 定义损失函数和优化器
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

# 训练神经网络
for epoch in range(10):  # 循环训练10次
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        # 获取输入数据和标签
        inputs, labels = data

        # 清空梯度
        optimizer.zero_grad()

        # 前向传播
        outputs = net(inputs)
        loss = criterion(outputs, labels)

        # 反向传播
        loss.backward()
        optimizer.step()

        # 打印训练损失
        running_loss += loss.item()
    print(f"Epoch {epoch+1}/{10}, Loss: {running_loss/len(trainloader)}")
'''

LINEAR_MODEL = '''import torch.nn as nn
import torch.optim as optim

class LinearRegressionModel(nn.Module):
   def __init__(self):
       super(LinearRegressionModel, self).__init__()
       self.linear = nn.Linear(1, 1)
   
   def forward(self, x):
       y_pred = self.linear(x)
       return y_pred

model = LinearRegressionModel()
optimizer = optim.SGD(model.parameters(), lr=0.01)
'''

LINEAR_TRAIN = '''import torch
import torch.nn as nn
import torch.optim as optim

# Define the model
class LinearRegressionModel(nn.Module):
   def __init__(self):
       super(LinearRegressionModel, self).__init__()
       self.linear = nn.Linear(1, 1)
   
   def forward(self, x):
       y_pred = self.linear(x)
       return y_pred

# Initialize the model and optimizer
model = LinearRegressionModel()
optimizer = optim.SGD(model.parameters(), lr=0.01)

# Generate some data
x = torch.tensor([1, 2, 3, 4, 5], dtype=torch.float32)
y = torch.tensor([2, 4, 6, 8, 10], dtype=torch.float32)

# Train the model
for epoch in range(100):
   y_pred = model(x)
   loss = ((y_pred - y)**2).mean()
   
   optimizer.zero_grad()
   loss.backward()
   optimizer.step()
   
   if (epoch+1) % 10 == 0:
       print('Epoch [{}/100], Loss: {:.4f}'
             .format(epoch+1, loss.item()))
'''

NET_BACKWARD = '''import torch
import torch.nn as nn

# 定义一个简单的神经网络
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 10)

    def forward(self, x):
        x = self.fc1(x)
        x = self.fc2(x)
        return x

# 创建一个网络实例
net = Net()

# 创建一个输入张量
x = torch.randn(10, requires_grad=True)

# 执行前向传播
y = net(x)

# 计算梯度
y.backward()

# 打印梯度
print(x.grad)
'''

MSE_TRAIN = '''import torch
import torch.nn as nn
import torch.optim as optim

# 生成训练数据
x = torch.randn(100, 1)
y = x * 2 + 1 + torch.randn(100, 1)

# 定义模型
model = nn.Linear(1, 1)

# 定义损失函数和优化器
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.05)

# 训练模型
for epoch in range(100):
   # 前向传播
   y_pred = model(x)
   loss = criterion(y_pred, y)
   
   # 反向传播
   optimizer.zero_grad()
   loss.backward()
   
   # 更新参数
   optimizer.step()
'''

# chapter name -> blocks run in order in one namespace, like notebook cells
CHAPTERS = {
    "001_net_trainloader": [NET_TRAINLOADER],
    "002_linear_regression": [LINEAR_MODEL, LINEAR_TRAIN],
    "003_net_backward": [NET_BACKWARD],
    "004_mse_train": [MSE_TRAIN],
}


@contextlib.contextmanager
def _deterministic(module):
    """Make Linear init and randn draw the same numbers in ember and torch."""
    draws = iter(range(10**6))
    linear, real_reset, real_randn = module.nn.Linear, module.nn.Linear.reset_parameters, module.randn

    def reset_parameters(self) -> None:
        rng = np.random.RandomState(next(draws))
        bound = 1 / math.sqrt(self.in_features)
        with module.no_grad():
            w = rng.uniform(-bound, bound, tuple(self.weight.shape)).astype(np.float32)
            self.weight.copy_(module.from_numpy(w))
            if self.bias is not None:
                b = rng.uniform(-bound, bound, tuple(self.bias.shape)).astype(np.float32)
                self.bias.copy_(module.from_numpy(b))

    def randn(*size, requires_grad: bool = False):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        a = np.random.RandomState(next(draws)).standard_normal(shape).astype(np.float32)
        return module.from_numpy(a).requires_grad_(requires_grad)

    module.manual_seed(0)
    linear.reset_parameters, module.randn = reset_parameters, randn
    try:
        yield
    finally:
        linear.reset_parameters, module.randn = real_reset, real_randn


def _trainloader(module):
    """A fixed 64-sample MNIST-shaped dataset in batches of 16, no shuffling."""
    rng = np.random.RandomState(7)
    images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = rng.randint(0, 10, 64).astype(np.int64)
    data = module.utils.data
    dataset = data.TensorDataset(module.from_numpy(images), module.from_numpy(labels))
    return data.DataLoader(dataset, batch_size=16, shuffle=False)


def _run(blocks: list, module, ns_extra=None) -> tuple:
    """Run blocks in one namespace where ``import torch[.sub]`` gives ``module``."""
    real_import = builtins.__import__

    def importer(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            return module
        return real_import(name, *args, **kwargs)

    ns = {"__builtins__": {**vars(builtins), "__import__": importer}, **(ns_extra or {})}
    results = []
    with _deterministic(module):
        for code in blocks:
            out = io.StringIO()
            error = None
            with contextlib.redirect_stdout(out):
                try:
                    exec(compile(code, "<seed>", "exec"), ns)  # noqa: S102 - the code under test
                except Exception as e:  # noqa: BLE001 - the exception is part of the result
                    msg = str(e).split("\n")[0].replace("'ember.", "'torch.")
                    error = (type(e).__name__, msg)
            results.append((out.getvalue(), error))
    return results, ns


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_seed_block(chapter):
    got, ns_e = _run(CHAPTERS[chapter], ember)
    want, ns_t = _run(CHAPTERS[chapter], torch)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"block {i}:\nember: {g}\ntorch: {w}"
    for name in ("net", "model", "optimizer"):
        if name in ns_t:
            assert repr(ns_e[name]) == repr(ns_t[name])
    for name in ("net", "model"):
        if name in ns_t:  # the shared deterministic init reached both, and training agreed
            sd_e, sd_t = ns_e[name].state_dict(), ns_t[name].state_dict()
            assert list(sd_e) == list(sd_t)
            for k in sd_t:
                np.testing.assert_allclose(sd_e[k].numpy(), sd_t[k].numpy(), rtol=1e-5, err_msg=k)


def test_seed_outcomes_are_not_vacuous():
    """Torch's outcomes that the comparisons above hold ember to."""
    res = {c: _run(b, torch)[0] for c, b in CHAPTERS.items()}
    assert res["001_net_trainloader"][0][1] == ("NameError", "name 'trainloader' is not defined")
    assert res["002_linear_regression"][1][1] == (
        "RuntimeError", "mat1 and mat2 shapes cannot be multiplied (1x5 and 1x1)")
    assert res["003_net_backward"][0][1][1] == "grad can be implicitly created only for scalar outputs"
    assert res["004_mse_train"][0] == ("", None)


def test_mse_train_learns_the_same_line():
    """The 004 block prints nothing: compare what it trained."""
    _, ns_e = _run(CHAPTERS["004_mse_train"], ember)
    _, ns_t = _run(CHAPTERS["004_mse_train"], torch)
    for p_e, p_t in zip(ns_e["model"].parameters(), ns_t["model"].parameters()):
        np.testing.assert_allclose(p_e.detach().numpy(), p_t.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(ns_e["loss"].item(), ns_t["loss"].item(), rtol=1e-5)
    w, b = (p.item() for p in ns_t["model"].parameters())
    assert abs(w - 2) < 0.3 and abs(b - 1) < 0.3  # it did learn y = 2x + 1


def test_net_with_trainloader_hits_missing_log_softmax():
    """Given data, the Net block fails at ``nn.log_softmax`` in both frameworks."""
    got, _ = _run(CHAPTERS["001_net_trainloader"], ember, {"trainloader": _trainloader(ember)})
    want, _ = _run(CHAPTERS["001_net_trainloader"], torch, {"trainloader": _trainloader(torch)})
    assert want[0][1] == ("AttributeError", "module 'torch.nn' has no attribute 'log_softmax'")
    assert got == want


def _losses(printed: str) -> list:
    return [float(v) for v in re.findall(r"Loss: (\S+)", printed)]


def test_net_with_trainloader_converges_as_under_torch():
    """Completed (data, ``torch.log_softmax``): per-epoch losses track torch's."""
    assert NET_TRAINLOADER.count("nn.log_softmax") == 1
    code = NET_TRAINLOADER.replace("nn.log_softmax", "torch.log_softmax")
    got, _ = _run([code], ember, {"trainloader": _trainloader(ember)})
    want, _ = _run([code], torch, {"trainloader": _trainloader(torch)})
    assert got[0][1] is None and want[0][1] is None
    loss_e, loss_t = _losses(got[0][0]), _losses(want[0][0])
    assert len(loss_t) == 10 and loss_t[-1] < loss_t[0] / 2
    np.testing.assert_allclose(loss_e, loss_t, rtol=1e-4)


def test_linear_train_with_column_data_prints_torch_losses():
    """Completed (x, y as (5, 1) columns): the printed 4-decimal losses equal torch's."""
    code = LINEAR_TRAIN.replace("dtype=torch.float32)", "dtype=torch.float32).unsqueeze(1)")
    got, _ = _run([code], ember)
    want, _ = _run([code], torch)
    assert want[0][1] is None and len(want[0][0].splitlines()) == 10
    assert got == want
