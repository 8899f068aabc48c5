"""``ember.nn``: modules, parameters, layers, ``functional`` and ``init``."""
from ember.nn import functional, init, utils
from ember.nn.modules import *
from ember.nn.parameter import Buffer, Parameter
