"""The seed chapter's tensor and autograd code blocks print (or raise) what PyTorch does.

Each chapter's blocks run in order in one namespace, like cells of a notebook, once with
``torch`` bound to ember and once to PyTorch; the captured stdout and any exception of each
block must agree.  The blocks are copied here verbatim (nn/optim/data blocks left out), with the
seeds' own comments, which are sometimes wrong: PyTorch's behaviour is the reference.
"""
import builtins
import contextlib
import io

import numpy as np
import pytest
import torch

import ember

CHAPTERS = {
    "000_tensors_and_autograd": [
        '''import torch

# Create a tensor with values [1, 2, 3]
x = torch.tensor([1, 2, 3])

# Print the tensor
print(x)
''',
        '''import numpy as np

# Create a NumPy array with values [4, 5, 6]
n = np.array([4, 5, 6])

# Convert the NumPy array to a PyTorch tensor
x = torch.from_numpy(n)

# Print the tensor
print(x)
''',
        '''# Create two tensors with values [1, 2, 3] and [4, 5, 6]
x = torch.tensor([1, 2, 3])
y = torch.tensor([4, 5, 6])

# Add the tensors together
z = x + y

# Print the resulting tensor
print(z)
''',
        '''# Create two tensors with values [1, 2, 3] and [4, 5, 6]
x = torch.tensor([1, 2, 3], requires_grad=True)
y = torch.tensor([4, 5, 6], requires_grad=True)

# Add the tensors together
z = x + y

# Calculate the loss as the sum of squares of the
''',
    ],
    "002_tensor_basics": [
        '''import torch
x = torch.tensor([[1, 2], [3, 4]]) # shape: (2, 2), dtype: float64
y = torch.tensor([1, 2]) # shape: (2, ), dtype: int64
z = torch.tensor(5.) # shape: (), dtype: float64
''',
        '''print(x.shape, x.size(), x.item())
# torch.Size([2, 2]) 4 None
''',
        '''x = torch.tensor(1., requires_grad=True)
y = x**2 + 2*x - 3
y.backward()
print(x.grad) # 4.
''',
    ],
    "003_graph": [
        '''import torch

# 创建一个张量
x = torch.tensor([1, 2, 3, 4])

# 创建一个加法操作符
y = x + 2

# 执行计算图
print(y)
''',
    ],
}


def _run_chapter(blocks: list, module) -> list:
    """Run the blocks in one namespace with ``import torch`` giving ``module``."""
    real_import = builtins.__import__

    def importer(name, *args, **kwargs):
        return module if name == "torch" else real_import(name, *args, **kwargs)

    ns = {"__builtins__": {**vars(builtins), "__import__": importer}, "np": np}
    results = []
    for code in blocks:
        out = io.StringIO()
        error = None
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(code, "<seed>", "exec"), ns)  # noqa: S102 - the code under test
            except Exception as e:  # noqa: BLE001 - the exception is part of the result
                # torch capitalises this message in factories only: compare case-insensitively
                error = (type(e).__name__, str(e).split("\n")[0].lower())
        results.append((out.getvalue(), error))
    return results


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_seed_chapter(chapter):
    got = _run_chapter(CHAPTERS[chapter], ember)
    want = _run_chapter(CHAPTERS[chapter], torch)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"block {i}:\nember: {g}\ntorch: {w}"


def test_blocks_raise_where_torch_does():
    """The comparison is not vacuous: torch itself raises in two of the blocks."""
    want = _run_chapter(CHAPTERS["000_tensors_and_autograd"], torch)
    assert want[3][1][0] == "RuntimeError"
    want = _run_chapter(CHAPTERS["002_tensor_basics"], torch)
    assert want[1][1][0] == "RuntimeError" and want[2][0] == "tensor(4.)\n"
