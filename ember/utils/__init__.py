"""``ember.utils``: data loading and the safetensors format, each loaded on first access."""
from __future__ import annotations

import importlib

_SUBMODULES = frozenset({"data", "safetensors"})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module("ember.utils." + name)
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)
