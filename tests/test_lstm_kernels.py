"""The compiled LSTM loops (ember/_ckernels.c ``lstm_forward``/``lstm_backward``, taken by
float32 NumPy layers) against torch and against the NumPy path they stand in for."""
import shutil

import numpy as np
import pytest
import torch
from helpers import rand
from test_rnn import _compare, _packed_call, _pair, _states

import ember
from ember import _native
from ember._parallel import blas_sgemm
from ember.nn.modules import rnn

built = pytest.mark.skipif(_native.kernels() is None or blas_sgemm() is None,
                           reason="ember._ckernels not built or NumPy's BLAS not OpenBLAS")


def test_built_where_a_compiler_is():
    """NumPy's wheels carry OpenBLAS, whose sgemm the loops call; a C compiler builds them."""
    if shutil.which("cc") or shutil.which("gcc"):
        assert _native.kernels() is not None
        assert blas_sgemm() is not None


@pytest.fixture
def counted(monkeypatch):
    """How many times each LSTM loop ran."""
    seen = {"lstm_forward": 0, "lstm_backward": 0}
    real = _native.call

    def call(name, *args):
        if name in seen:
            seen[name] += 1
        return real(name, *args)

    monkeypatch.setattr(_native, "call", call)
    return seen


@built
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"bias": False, "batch_first": True}])
def test_layers(counted, kw):
    # hidden 13: the vectorized gate loops end in a remainder
    tm, em = _pair("LSTM", 10, 13, dtype=np.float32, **kw)
    x = rand(9, 7, 10, dtype=np.float32)
    _compare(tm, em, lambda lib, m, x: m(x), x, dtype=np.float32)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    assert counted == {"lstm_forward": layers, "lstm_backward": layers}
    batch = 9 if kw.get("batch_first") else 7
    states = tuple(s.astype(np.float32) for s in _states("LSTM", layers, (batch,), 13))
    _compare(tm, em, lambda lib, m, x, hx: m(x, hx), x, states, dtype=np.float32)


@built
def test_packed_both_directions(counted):
    """Sequences end (forward walk) and join (reversed walk) at different steps."""
    tm, em = _pair("LSTM", 4, 16, dtype=np.float32, bidirectional=True)
    states = tuple(s.astype(np.float32) for s in _states("LSTM", 2, (5,), 16))
    _compare(tm, em, _packed_call([3, 8, 1, 5, 8]), rand(8, 5, 4, dtype=np.float32), states,
             dtype=np.float32)
    assert counted == {"lstm_forward": 2, "lstm_backward": 2}


@built
def test_saturated_gates():
    """Pre-activations far out in both tails (gates at 0 and 1, tanh at -1 and 1) and near 0."""
    tm, em = _pair("LSTM", 6, 8, dtype=np.float32)
    x = rand(5, 3, 6, dtype=np.float32)
    x[:, 0] *= 300
    x[:, 1] *= 1e-6
    _compare(tm, em, lambda lib, m, x: m(x), x, dtype=np.float32)


@built
def test_matches_numpy_path(monkeypatch):
    """The loops compute what the NumPy path computes, on a batch big enough to be realistic."""
    em = ember.nn.LSTM(16, 32, bidirectional=True)
    x = ember.tensor(rand(12, 40, 16, dtype=np.float32), requires_grad=True)

    def run():
        out, (h, c) = em(x)
        w = np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(out.shape)
        ((out * ember.tensor(w)).sum() + h.sum() + 2 * c.sum()).backward()
        grads = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in em.parameters()]
        x.grad = None
        em.zero_grad()
        return [out.detach().numpy(), h.detach().numpy(), c.detach().numpy()] + grads

    compiled = run()
    monkeypatch.setattr(rnn, "_compiled_gemm", lambda *a: None)
    reference = run()
    for ours, theirs in zip(compiled, reference):  # float32 sums in other orders
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6 * np.abs(theirs).max())


@built
def test_nan_propagates():
    x = rand(4, 2, 3, dtype=np.float32)
    x[1, 0, 2] = np.nan
    tm, em = _pair("LSTM", 3, 5, dtype=np.float32)
    ours, theirs = em(ember.tensor(x))[0].detach().numpy(), tm(torch.tensor(x))[0].detach()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs.numpy()))
    assert np.isnan(ours[1:, 0]).all() and not np.isnan(ours[:, 1]).any()
