"""``ember.nn``: modules, parameters and layers."""
from ember.nn.modules import *
from ember.nn.modules import (
    Module,
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from ember.nn.parameter import Buffer, Parameter
