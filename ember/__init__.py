"""ember: PyTorch's programming model on NumPy (and CuPy). ``import ember as torch``.

Tensors, ops and autograd load with the package; the namespaces a script may never touch
(``nn``, ``optim``, ``utils``, ``datasets`` ...) and ``save``/``load`` load on first access
(PEP 562), so that ``import ember`` stays cheap.
"""
from __future__ import annotations

import importlib

from ember import _dtype, _malloc, autograd
from ember._api import *
from ember._device import device
from ember._dtype import (
    bool_ as bool,
)
from ember._dtype import (
    can_cast,
    dtype,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)
from ember._parallel import get_num_threads, set_num_threads
from ember._tensor import Size, Tensor
from ember._tensor_str import set_printoptions
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.ops import MODULES as _OP_MODULES
from ember.random import (
    Generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

half = float16
float = float32
double = float64
short = int16
int = int32
long = int64

for _m in _OP_MODULES:
    globals().update({_n: getattr(_m, _n) for _n in _m.__all__})
del _m

__version__ = "0.1.0"

_malloc.tune()  # see ember/_malloc.py: freed arrays stay in the heap for the next step

_SUBMODULES = frozenset({
    "cuda", "datasets", "distributed", "linalg", "nn", "optim", "serialization", "testing",
    "transforms", "utils",
})
_LAZY_ATTRS = {"load": "ember.serialization", "save": "ember.serialization"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        try:
            return importlib.import_module("ember." + name)
        except ModuleNotFoundError as e:
            if e.name != "ember." + name:
                raise
            raise AttributeError(f"module 'ember' has no attribute '{name}'") from None
    module = _LAZY_ATTRS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_LAZY_ATTRS))
