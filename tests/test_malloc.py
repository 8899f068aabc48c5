"""ember._malloc: the heap thresholds are raised at import unless the user tuned malloc."""
from __future__ import annotations

import sys

import pytest

from ember import _malloc


@pytest.mark.parametrize("env", [{"EMBER_MALLOC_TRIM": "0"}, {"MALLOC_TRIM_THRESHOLD_": "1"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}])
def test_user_settings_win(monkeypatch, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert _malloc.tune() is False


def test_tune_on_glibc(monkeypatch):
    for k in ("EMBER_MALLOC_TRIM", "GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_",
              "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX"):
        monkeypatch.delenv(k, raising=False)
    if not sys.platform.startswith("linux"):
        assert _malloc.tune() is False
    else:
        assert isinstance(_malloc.tune(), bool)
