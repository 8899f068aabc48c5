from ember.nn.modules.activation import LogSoftmax, ReLU, Softmax, Softmin
from ember.nn.modules.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from ember.nn.modules.flatten import Flatten, Unflatten
from ember.nn.modules.linear import Identity, Linear
from ember.nn.modules.loss import CrossEntropyLoss, MSELoss, NLLLoss
from ember.nn.modules.module import Module
