"""Top-level helpers that are not ops: ember.cuda, ember.testing, is_tensor and friends."""
import pytest
import torch

import ember


def test_cuda_queries_without_gpu():
    assert ember.cuda.is_available() == (ember.cuda.device_count() > 0)
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError):
            ember.ones(2).to("cuda")


@pytest.mark.parametrize(
    "a,b,kw",
    [
        ([1.0, 2.0], [1.0, 2.0 + 1e-7], {}),
        ([1.0, 2.0], [1.0, 2.1], {}),
        ([1, 2], [1, 2], {}),
        ([1, 2], [1, 3], {}),
        ([1.0, float("nan")], [1.0, float("nan")], {}),
        ([1.0, float("nan")], [1.0, float("nan")], {"equal_nan": True}),
        ([1.0, 2.0], [1.0, 2.5], {"rtol": 0.3, "atol": 0.0}),
    ],
)
def test_assert_close_agrees_with_torch(a, b, kw):
    def outcome(mod):
        try:
            mod.testing.assert_close(mod.tensor(a), mod.tensor(b), **kw)
            return None
        except AssertionError:
            return AssertionError

    assert outcome(ember) is outcome(torch)


def test_assert_close_dtype_and_shape():
    with pytest.raises(AssertionError):
        ember.testing.assert_close(ember.ones(2), ember.ones(2, dtype=ember.float64))
    with pytest.raises(AssertionError):
        ember.testing.assert_close(ember.ones(2), ember.ones(3))
    ember.testing.assert_close([ember.ones(2), 1.0], [ember.ones(2), 1.0])


def test_predicates():
    t = ember.ones(2, 3)
    assert ember.is_tensor(t) and not ember.is_tensor([1])
    assert ember.numel(t) == 6
    assert ember.is_floating_point(t) and not ember.is_floating_point(ember.tensor([1]))
    assert ember.is_nonzero(ember.tensor([1]))
    with pytest.raises(RuntimeError):
        ember.is_nonzero(t)
