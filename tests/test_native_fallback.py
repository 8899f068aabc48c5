"""ember without its compiled module: the same training steps on the NumPy paths give the same
losses as with the kernels (convolutions, batch and layer norm, ReLU, GELU, pooling, LSTM,
softmax, cross entropy, SGD and Adam), each in a fresh process."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ember import _native

SCRIPT = r"""
import json, sys
if sys.argv[1] == "off":
    sys.modules["ember._ckernels"] = None  # the import fails, as where no compiler built it
import numpy as np
import ember as t
from ember import _native

t.manual_seed(0)
nn, F = t.nn, t.nn.functional
conv = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 5, stride=2, padding=1),
    nn.Flatten(), nn.LayerNorm(144), nn.GELU(), nn.Linear(144, 10))
lstm = nn.LSTM(8, 16, batch_first=True)
params = list(conv.parameters()) + list(lstm.parameters())
adam, sgd = t.optim.Adam(params, lr=1e-2), t.optim.SGD(params, lr=1e-3, momentum=0.9)
rng = np.random.default_rng(0)
x = t.tensor(rng.standard_normal((8, 1, 14, 14)).astype(np.float32))
s = t.tensor(rng.standard_normal((8, 5, 8)).astype(np.float32))
y = t.tensor(rng.integers(0, 10, 8))
losses = []
for i in range(4):
    adam.zero_grad()
    sgd.zero_grad()
    out, _ = lstm(s)
    loss = (F.cross_entropy(conv(x), y) + F.log_softmax(out[:, -1], dim=-1).mean()
            + F.softmax(out, -1).pow(2).sum())
    loss.backward()
    (adam if i % 2 else sgd).step()
    losses.append(loss.item())
print(json.dumps({"kernels": _native.kernels() is not None, "losses": losses}))
"""


def _run(mode: str) -> dict:
    res = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(_native.kernels() is None, reason="ember._ckernels not built")
def test_numpy_paths_train_like_the_kernels():
    on, off = _run("on"), _run("off")
    assert on["kernels"] and not off["kernels"]
    np.testing.assert_allclose(off["losses"], on["losses"], rtol=1e-5)
    assert on["losses"][-1] < on["losses"][0]
