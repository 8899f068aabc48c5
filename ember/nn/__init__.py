"""``ember.nn``: modules, parameters, layers, ``functional`` and ``init``."""
from ember.nn import functional, init, utils
from ember.nn.modules import *
from ember.nn.parameter import Buffer, Parameter


def __getattr__(name: str):
    """``nn.parallel`` (DistributedDataParallel) loads on first access."""
    if name == "parallel":
        import ember.nn.parallel

        return ember.nn.parallel
    raise AttributeError(f"module 'ember.nn' has no attribute '{name}'")
