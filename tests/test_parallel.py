"""ember._parallel: blocks of an op on several threads, BLAS single-threaded meanwhile."""
import multiprocessing
import os
import threading

import numpy as np
import pytest
import torch

import ember
from ember import _parallel
from ember.ops import conv

needs_threads = pytest.mark.skipif(_parallel.workers() < 2 and _parallel._state["blas"] is None,
                                   reason="no settable OpenBLAS in this process")


@pytest.fixture
def threads():
    before = ember.get_num_threads()
    yield
    ember.set_num_threads(before)


@needs_threads
def test_shares_and_blas_threads(threads):
    ember.set_num_threads(2)
    blas_get = _parallel._state["blas"][1]
    seen = []

    def fn(share):
        seen.append((threading.get_ident(), list(share), blas_get()))
        return sum(share)

    out = _parallel.parallel_for(fn, list(range(7)))
    assert out == [0 + 2 + 4 + 6, 1 + 3 + 5]
    assert sorted(s for _, s, _ in seen) == [[0, 2, 4, 6], [1, 3, 5]]
    assert len({t for t, _, _ in seen}) == 2  # two threads
    assert all(n == 1 for _, _, n in seen)  # BLAS single-threaded inside
    assert blas_get() == 2  # and restored after
    assert _parallel.parallel_for(fn, [5]) == [5]  # one part: on the caller
    assert _parallel.parallel_for(fn, list(range(4)), enabled=False) == [6]


@needs_threads
def test_error_in_a_share_propagates_and_restores(threads):
    ember.set_num_threads(2)

    def fn(share):
        if 1 in share:
            raise ValueError("boom")
        return 0

    with pytest.raises(ValueError, match="boom"):
        _parallel.parallel_for(fn, [0, 1])
    assert _parallel._state["blas"][1]() == 2


@needs_threads
def test_nested_calls_run_on_the_worker(threads):
    ember.set_num_threads(2)
    inner = _parallel.parallel_for(lambda share: _parallel.parallel_for(len, [1, 2, 3]), [0, 1])
    assert inner == [[3], [3]]


@pytest.mark.parametrize("case", [
    ((32, 64, 16, 16), (64, 64, 3, 3), 1),  # rows larger than a block: parts of rows
    ((16, 3, 28, 28), (6, 3, 5, 5), 2),  # several rows per block
    ((4, 6, 9, 7), (4, 3, 3, 2), 0),  # groups
])
def test_conv_threads_agree_with_one_thread_and_torch(threads, case):
    xs, ws, p = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    groups = xs[1] // ws[1]
    results = {}
    for n in (1, 2):
        ember.set_num_threads(n)
        xe = ember.tensor(x, requires_grad=True)
        we = ember.tensor(w, requires_grad=True)
        y = ember.nn.functional.conv2d(xe, we, padding=p, groups=groups)
        (y * y).sum().backward()
        results[n] = (y.detach().numpy(), xe.grad.numpy(), we.grad.numpy())
    for a, b in zip(results[1], results[2]):
        # the weight gradient's per-thread partial sums are added in another order:
        # float64 rounding of the largest terms, nothing more
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * np.abs(b).max())
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, padding=p, groups=groups)
    (yt * yt).sum().backward()
    for a, b in zip(results[2], (yt.detach(), xt.grad, wt.grad)):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-10)


def _child(queue) -> None:
    x = np.random.default_rng(0).standard_normal((32, 64, 16, 16)).astype(np.float32)
    w = np.ones((8, 64, 3, 3), np.float32)
    y = conv._conv_forward(np, x, w, None, ((1, 1), ((1, 1), (1, 1)), (1, 1), 1))
    queue.put(float(y.sum()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_pool_works_after_fork():
    _child(multiprocessing.Queue())  # the parent's pool exists before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0, "the forked child hung or failed in a parallel conv"
    assert np.isfinite(queue.get(timeout=5))


def test_set_num_threads_errors_match_torch(threads):
    for bad in (0, -1):
        with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
            ember.set_num_threads(bad)
        with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
            torch.set_num_threads(bad)
    with pytest.raises(RuntimeError, match="expects an int, but got float"):
        ember.set_num_threads(1.5)
    with pytest.raises(RuntimeError, match="expects an int, but got float"):
        torch.set_num_threads(1.5)
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
