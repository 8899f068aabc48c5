import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def kernel_calls(monkeypatch) -> list:
    """The names of the compiled kernels ember calls while the test runs, in order."""
    from ember import _native

    calls = []
    real = _native.call
    monkeypatch.setattr(_native, "call", lambda name, *a: calls.append(name) or real(name, *a))
    return calls
